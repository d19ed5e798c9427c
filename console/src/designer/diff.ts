// 版本对比: the semantic difference of two BPMN definitions (bpmn-moddle trees), element by
// element id — added, removed, changed (with each changed property, old → new) and moved
// (only the diagram layout changed). bihuan's properties appear under their own names
// (`deadline`, `caseStatus`, …) so a designer reads "deadline: dispute.screen → dispute.sign".
import { isType, type Bo, type MetaProperty } from "./bihuan";

export type ChangeKind = "added" | "removed" | "changed" | "moved";

export interface PropertyChange {
  key: string;
  before: string | undefined;
  after: string | undefined;
}

export interface ElementChange {
  id: string;
  kind: ChangeKind;
  type: string;
  name: string;
  changes: PropertyChange[];
}

export const KIND_LABEL: Record<ChangeKind, string> = {
  added: "新增 added",
  removed: "删除 removed",
  changed: "修改 changed",
  moved: "仅布局 layout only",
};

// Containment handled as elements of their own, or derived from others.
const SKIP = new Set(["flowElements", "laneSets", "lanes", "childLaneSet", "incoming", "outgoing", "artifacts", "di"]);

function str(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object" && "id" in (v as Bo)) return String((v as Bo).id ?? "");
  return String(v);
}

function flatten(el: Bo, prefix: string, out: Map<string, string>): void {
  if (isType(el, "spiffworkflow:Properties")) {
    for (const p of (el.get("values") as Bo[] | undefined) ?? [])
      out.set(prefix + String(p.get("name") ?? "?"), String(p.get("value") ?? ""));
    return;
  }
  const props: MetaProperty[] = el.$descriptor?.properties ?? [];
  for (const p of props) {
    if (p.isVirtual || SKIP.has(p.name) || (prefix === "" && p.name === "id")) continue;
    const v = el.get(p.name);
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    const key = prefix + p.name;
    if (p.isReference) {
      out.set(key, Array.isArray(v) ? v.map(str).join(", ") : str(v));
    } else if (Array.isArray(v)) {
      v.forEach((item: unknown, i: number) => {
        if (item && typeof item === "object" && "$type" in (item as Bo)) {
          flatten(item as Bo, `${key}[${i}].`, out);
        } else out.set(`${key}[${i}]`, str(item));
      });
    } else if (typeof v === "object" && "$type" in (v as Bo)) {
      const child = v as Bo;
      if (p.name === "extensionElements") {
        for (const x of (child.get("values") as Bo[] | undefined) ?? []) {
          if (isType(x, "spiffworkflow:Properties")) flatten(x, prefix, out);
          else if (x.$type.startsWith("spiffworkflow:")) flattenValue(x, `${prefix}${x.$type.slice(14)}`, out);
          else flattenValue(x, `${prefix}${x.$type}`, out);
        }
      } else flatten(child, `${key}.`, out);
    } else {
      out.set(key, str(v));
    }
  }
  for (const [k, v] of Object.entries(el.$attrs ?? {})) if (!k.startsWith("xmlns")) out.set(`${prefix}@${k}`, String(v));
  // Elements of a namespace no descriptor knows (kept as generic elements by bpmn-moddle).
  if (typeof el.$body === "string" && el.$body.trim()) out.set(`${prefix}text`, el.$body.trim());
  const children = el.$children;
  if (Array.isArray(children))
    children.forEach((c: Bo, i: number) => flatten(c, `${prefix}${c.$type}[${i}].`, out));
}

/** An extension element: its body text under `key`, anything else flattened below it. */
function flattenValue(el: Bo, key: string, out: Map<string, string>): void {
  const inner = new Map<string, string>();
  flatten(el, "", inner);
  if (inner.size === 1 && inner.has("value")) out.set(key, inner.get("value") ?? "");
  else for (const [k, v] of inner) out.set(`${key}.${k}`, v);
}

interface Entry {
  bo: Bo;
  props: Map<string, string>;
}

function collect(definitions: Bo): { elements: Map<string, Entry>; layout: Map<string, string> } {
  const elements = new Map<string, Entry>();
  const add = (bo: Bo) => {
    if (!bo.id) return;
    const props = new Map<string, string>();
    flatten(bo, "", props);
    elements.set(bo.id, { bo, props });
  };
  const walkLanes = (laneSets: Bo[] | undefined) => {
    for (const set of laneSets ?? [])
      for (const lane of (set.get("lanes") as Bo[] | undefined) ?? []) {
        add(lane);
        walkLanes(lane.get("childLaneSet") ? [lane.get("childLaneSet") as Bo] : []);
      }
  };
  const walk = (container: Bo) => {
    for (const el of (container.get("flowElements") as Bo[] | undefined) ?? []) {
      add(el);
      if (isType(el, "bpmn:SubProcess")) walk(el);
    }
    for (const el of (container.get("artifacts") as Bo[] | undefined) ?? []) add(el);
    walkLanes(container.get("laneSets") as Bo[] | undefined);
  };
  for (const root of (definitions.get("rootElements") as Bo[] | undefined) ?? []) {
    add(root);
    if (isType(root, "bpmn:Process")) walk(root);
    if (isType(root, "bpmn:Collaboration"))
      for (const p of (root.get("participants") as Bo[] | undefined) ?? []) add(p);
  }
  const layout = new Map<string, string>();
  for (const diagram of (definitions.get("diagrams") as Bo[] | undefined) ?? []) {
    const plane = diagram.get("plane") as Bo | undefined;
    for (const di of (plane?.get("planeElement") as Bo[] | undefined) ?? []) {
      const target = di.get("bpmnElement") as Bo | undefined;
      if (!target?.id) continue;
      const b = di.get("bounds") as Bo | undefined;
      const wps = (di.get("waypoint") as Bo[] | undefined) ?? [];
      const geometry = b
        ? `${b.get("x")},${b.get("y")},${b.get("width")},${b.get("height")}`
        : wps.map((w) => `${w.get("x")},${w.get("y")}`).join(" ");
      layout.set(target.id, geometry);
    }
  }
  return { elements, layout };
}

function label(bo: Bo): string {
  return (bo.get("name") as string | undefined) || bo.id || "";
}

/** The difference from `before` (e.g. version 1) to `after` (version 2), sorted by kind then id. */
export function diffDefinitions(before: Bo, after: Bo): ElementChange[] {
  const a = collect(before);
  const b = collect(after);
  const out: ElementChange[] = [];
  for (const [id, e] of b.elements) {
    const old = a.elements.get(id);
    if (!old) {
      out.push({ id, kind: "added", type: e.bo.$type, name: label(e.bo), changes: [] });
      continue;
    }
    const changes: PropertyChange[] = [];
    const keys = new Set([...old.props.keys(), ...e.props.keys()]);
    for (const key of [...keys].sort()) {
      const x = old.props.get(key);
      const y = e.props.get(key);
      if (x !== y) changes.push({ key, before: x, after: y });
    }
    if (old.bo.$type !== e.bo.$type) changes.unshift({ key: "type", before: old.bo.$type, after: e.bo.$type });
    if (changes.length) out.push({ id, kind: "changed", type: e.bo.$type, name: label(e.bo), changes });
    else if ((a.layout.get(id) ?? "") !== (b.layout.get(id) ?? ""))
      out.push({ id, kind: "moved", type: e.bo.$type, name: label(e.bo), changes: [] });
  }
  for (const [id, e] of a.elements)
    if (!b.elements.has(id)) out.push({ id, kind: "removed", type: e.bo.$type, name: label(e.bo), changes: [] });
  const order: ChangeKind[] = ["changed", "added", "removed", "moved"];
  return out.sort((x, y) => order.indexOf(x.kind) - order.indexOf(y.kind) || x.id.localeCompare(y.id));
}
