// bihuan's own BPMN properties, as the engine reads them (engine/spiff/bundle.py,
// docs/processes.md): `spiffworkflow:properties/property` name/value pairs in a task's
// extensionElements, and `spiffworkflow:calledDecisionId` on a business rule task.
// Pure helpers over bpmn-moddle objects; no React, no bpmn-js services.

export const SPIFF_URI = "http://spiffworkflow.org/bpmn/schema/1.0/core";

/** The property names the engine reads, with the label a designer sees (Chinese first). */
export const PROPERTY = {
  form: "formJsonSchemaFilename",
  uiForm: "formUiSchemaFilename",
  caseStatus: "caseStatus",
  deadline: "deadline",
  priority: "priority",
} as const;

export const PROPERTY_LABEL: Record<string, string> = {
  formJsonSchemaFilename: "表单 form (JSON Schema)",
  formUiSchemaFilename: "界面 UI schema",
  caseStatus: "案件状态 case status",
  deadline: "时限 deadline key",
  priority: "优先级 priority",
  calledDecisionId: "决策表 decision",
};

/** A bpmn-moddle element, as far as the designer needs it. */
export interface Bo {
  $type: string;
  $parent?: Bo;
  $attrs?: Record<string, string>;
  $descriptor?: { properties: MetaProperty[] };
  $instanceOf?: (type: string) => boolean;
  id?: string;
  name?: string;
  get(name: string): unknown;
  [key: string]: unknown;
}

export interface MetaProperty {
  name: string;
  ns: { name: string; prefix: string; localName: string };
  type: string;
  isMany?: boolean;
  isReference?: boolean;
  isAttr?: boolean;
  isBody?: boolean;
  isVirtual?: boolean;
}

export function isType(bo: Bo | undefined | null, type: string): boolean {
  if (!bo) return false;
  if (typeof bo.$instanceOf === "function") return bo.$instanceOf(type);
  return bo.$type === type;
}

export function extensionValues(bo: Bo): Bo[] {
  const ext = bo.get("extensionElements") as Bo | undefined;
  return ext ? ((ext.get("values") as Bo[] | undefined) ?? []) : [];
}

export function propertiesElement(bo: Bo): Bo | undefined {
  return extensionValues(bo).find((v) => isType(v, "spiffworkflow:Properties"));
}

/** The task's `spiffworkflow:property` pairs (the last one wins, as in the engine). */
export function bihuanProperties(bo: Bo): Record<string, string> {
  const out: Record<string, string> = {};
  const props = propertiesElement(bo);
  for (const p of (props?.get("values") as Bo[] | undefined) ?? []) {
    const name = p.get("name") as string | undefined;
    if (name) out[name] = (p.get("value") as string | undefined) ?? "";
  }
  return out;
}

export function calledDecisionId(bo: Bo): string | undefined {
  const el = extensionValues(bo).find((v) => isType(v, "spiffworkflow:CalledDecisionId"));
  const value = el?.get("value") as string | undefined;
  return value?.trim() || undefined;
}

/** The lane (by name) a flow node sits in, from the lanes' flowNodeRef lists. */
export function laneOf(bo: Bo): string | undefined {
  const lanes = (bo.get("lanes") as Bo[] | undefined) ?? [];
  const lane = lanes[0];
  return lane ? ((lane.get("name") as string | undefined) ?? lane.id) : undefined;
}
