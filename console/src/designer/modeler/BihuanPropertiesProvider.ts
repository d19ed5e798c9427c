// A properties-panel provider for bihuan's own properties, so a designer never edits XML by
// hand to set them: on a user task the form, its UI schema, the case status, the deadline key
// and the priority; on a start event its form (the 上报 form), UI schema and case status; on a business rule task the decision; on a lane its name (the key of
// processes/lanes.yaml); the lane a task sits in is shown (move the task to change it).
//
// Entries are the panel's own (Preact) components, created with its jsx runtime; every change
// is one command on the modeler's command stack, so undo/redo work.
import { jsx } from "@bpmn-io/properties-panel/preact/jsx-runtime";
import {
  SelectEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import {
  PROPERTY,
  PROPERTY_LABEL,
  bihuanProperties,
  calledDecisionId,
  extensionValues,
  isType,
  laneOf,
  propertiesElement,
  type Bo,
} from "../bihuan";
import type { Catalog, Option } from "../catalog";

interface Shape {
  id: string;
  businessObject: Bo;
}

interface Command {
  cmd: string;
  context: Record<string, unknown>;
}

interface BpmnFactory {
  create(type: string, attrs?: Record<string, unknown>): Bo;
}

interface CommandStack {
  execute(command: string, context: unknown): void;
}

interface Group {
  id: string;
  label: string;
  entries: { id: string; component: (props: { element: Shape; id: string }) => unknown; isEdited?: unknown }[];
}

/** Holds the catalog the entries offer; the page replaces `current` when it learns more. */
export class CatalogHolder {
  current: Catalog = { forms: [], uiForms: [], deadlines: [], statuses: [], lanes: [], decisions: [] };
}

function update(element: Shape, moddleElement: Bo, properties: Record<string, unknown>): Command {
  return { cmd: "element.updateModdleProperties", context: { element, moddleElement, properties } };
}

/** The commands that make `extensionElements` and a child of `type` exist on the element. */
function ensureExtension(element: Shape, type: string, factory: BpmnFactory, cmds: Command[]): Bo {
  const bo = element.businessObject;
  let ext = bo.get("extensionElements") as Bo | undefined;
  if (!ext) {
    ext = factory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    cmds.push(update(element, bo, { extensionElements: ext }));
  }
  const values = (ext.get("values") as Bo[] | undefined) ?? [];
  let child = values.find((v) => isType(v, type));
  if (!child) {
    child = factory.create(type, type === "spiffworkflow:Properties" ? { values: [] } : {});
    child.$parent = ext;
    cmds.push(update(element, ext, { values: [...values, child] }));
  }
  return child;
}

/** Set (or with an empty value, remove) one `spiffworkflow:property` of a task. */
export function setBihuanProperty(
  element: Shape,
  name: string,
  value: string,
  factory: BpmnFactory,
  commandStack: CommandStack,
): void {
  const bo = element.businessObject;
  const cmds: Command[] = [];
  if (value === "") {
    const props = propertiesElement(bo);
    const values = (props?.get("values") as Bo[] | undefined) ?? [];
    if (!props || !values.some((p) => p.get("name") === name)) return;
    cmds.push(update(element, props, { values: values.filter((p) => p.get("name") !== name) }));
  } else {
    const props = ensureExtension(element, "spiffworkflow:Properties", factory, cmds);
    const values = (props.get("values") as Bo[] | undefined) ?? [];
    const existing = values.find((p) => p.get("name") === name);
    if (existing) {
      cmds.push(update(element, existing, { value }));
    } else {
      const prop = factory.create("spiffworkflow:Property", { name, value });
      prop.$parent = props;
      cmds.push(update(element, props, { values: [...values, prop] }));
    }
  }
  commandStack.execute("properties-panel.multi-command-executor", cmds);
}

function setDecision(element: Shape, value: string, factory: BpmnFactory, commandStack: CommandStack): void {
  const cmds: Command[] = [];
  if (value === "") {
    const ext = element.businessObject.get("extensionElements") as Bo | undefined;
    if (!ext) return;
    const values = extensionValues(element.businessObject);
    cmds.push(update(element, ext, { values: values.filter((v) => !isType(v, "spiffworkflow:CalledDecisionId")) }));
  } else {
    const el = ensureExtension(element, "spiffworkflow:CalledDecisionId", factory, cmds);
    cmds.push(update(element, el, { value }));
  }
  commandStack.execute("properties-panel.multi-command-executor", cmds);
}

/** Options with "(none)" first and the current value kept even when the catalog lacks it. */
function withCurrent(options: Option[], current: string | undefined, none = "（无）"): Option[] {
  const out = [{ value: "", label: none }, ...options];
  if (current && !options.some((o) => o.value === current))
    out.push({ value: current, label: `${current}（不在目录中 not in the catalog）` });
  return out;
}

const plain = (values: string[]): Option[] => values.map((value) => ({ value, label: value }));

function propertySelect(name: string, options: (catalog: Catalog) => Option[]) {
  return function Entry(props: { element: Shape; id: string }): unknown {
    const { element, id } = props;
    const factory = useService<BpmnFactory>("bpmnFactory");
    const commandStack = useService<CommandStack>("commandStack");
    const holder = useService<CatalogHolder>("bihuanCatalog");
    const get = () => bihuanProperties(element.businessObject)[name] ?? "";
    return jsx(SelectEntry, {
      element,
      id,
      label: PROPERTY_LABEL[name] ?? name,
      getValue: get,
      setValue: (value: string) => setBihuanProperty(element, name, value, factory, commandStack),
      getOptions: () => withCurrent(options(holder.current), get()),
    });
  };
}

const FormEntry = propertySelect(PROPERTY.form, (c) => plain(c.forms));
const UiFormEntry = propertySelect(PROPERTY.uiForm, (c) => plain(c.uiForms));
const StatusEntry = propertySelect(PROPERTY.caseStatus, (c) => c.statuses);
const DeadlineEntry = propertySelect(PROPERTY.deadline, (c) => c.deadlines);

function PriorityEntry(props: { element: Shape; id: string }): unknown {
  const { element, id } = props;
  const factory = useService<BpmnFactory>("bpmnFactory");
  const commandStack = useService<CommandStack>("commandStack");
  const debounce = useService<(fn: (...a: unknown[]) => void) => (...a: unknown[]) => void>("debounceInput");
  return jsx(TextFieldEntry, {
    element,
    id,
    label: PROPERTY_LABEL[PROPERTY.priority],
    description: "0–100，越大越靠前 (higher first in the inbox)",
    debounce,
    getValue: () => bihuanProperties(element.businessObject)[PROPERTY.priority] ?? "",
    validate: (value: string) => (value === "" || /^\d{1,3}$/.test(value) ? null : "请输入整数 (an integer)"),
    setValue: (value: string, error?: string | null) => {
      if (!error) setBihuanProperty(element, PROPERTY.priority, value, factory, commandStack);
    },
  });
}

function LaneShownEntry(props: { element: Shape; id: string }): unknown {
  const { element, id } = props;
  return jsx(TextFieldEntry, {
    element,
    id,
    label: "泳道 lane",
    description: "由图中位置决定：把任务拖到另一泳道即可 (move the task to another lane)",
    disabled: true,
    debounce: (fn: (...a: unknown[]) => void) => fn,
    getValue: () => laneOf(element.businessObject) ?? "（无泳道）",
    setValue: () => undefined,
  });
}

function LaneNameEntry(props: { element: Shape; id: string }): unknown {
  const { element, id } = props;
  const modeling = useService<{ updateProperties(el: Shape, p: Record<string, unknown>): void }>("modeling");
  const holder = useService<CatalogHolder>("bihuanCatalog");
  const get = () => (element.businessObject.get("name") as string | undefined) ?? "";
  return jsx(SelectEntry, {
    element,
    id,
    label: "泳道角色 lane (lanes.yaml)",
    description: "决定谁办理此泳道中的任务 (who works on the tasks in this lane)",
    getValue: get,
    setValue: (value: string) => modeling.updateProperties(element, { name: value }),
    getOptions: () => withCurrent(plain(holder.current.lanes), get()),
  });
}

function DecisionEntry(props: { element: Shape; id: string }): unknown {
  const { element, id } = props;
  const factory = useService<BpmnFactory>("bpmnFactory");
  const commandStack = useService<CommandStack>("commandStack");
  const holder = useService<CatalogHolder>("bihuanCatalog");
  const get = () => calledDecisionId(element.businessObject) ?? "";
  return jsx(SelectEntry, {
    element,
    id,
    label: PROPERTY_LABEL.calledDecisionId,
    getValue: get,
    setValue: (value: string) => setDecision(element, value, factory, commandStack),
    getOptions: () => withCurrent(plain(holder.current.decisions), get()),
  });
}

function groupFor(element: Shape): Group | null {
  const bo = element.businessObject;
  if (isType(bo, "bpmn:UserTask")) {
    return {
      id: "bihuan",
      label: "闭环属性 bihuan",
      entries: [
        { id: "bihuan-form", component: FormEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-uiForm", component: UiFormEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-caseStatus", component: StatusEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-deadline", component: DeadlineEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-priority", component: PriorityEntry, isEdited: isTextFieldEntryEdited },
        { id: "bihuan-lane", component: LaneShownEntry },
      ],
    };
  }
  if (isType(bo, "bpmn:StartEvent")) {
    // The start form is what 上报 (report) fills in.
    return {
      id: "bihuan",
      label: "闭环属性 bihuan（上报表单 start form）",
      entries: [
        { id: "bihuan-form", component: FormEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-uiForm", component: UiFormEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-caseStatus", component: StatusEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-lane", component: LaneShownEntry },
      ],
    };
  }
  if (isType(bo, "bpmn:BusinessRuleTask")) {
    return {
      id: "bihuan",
      label: "闭环属性 bihuan",
      entries: [
        { id: "bihuan-decision", component: DecisionEntry, isEdited: isSelectEntryEdited },
        { id: "bihuan-lane", component: LaneShownEntry },
      ],
    };
  }
  if (isType(bo, "bpmn:Lane")) {
    return {
      id: "bihuan",
      label: "闭环属性 bihuan",
      entries: [{ id: "bihuan-laneName", component: LaneNameEntry, isEdited: isSelectEntryEdited }],
    };
  }
  if (isType(bo, "bpmn:FlowNode")) {
    return { id: "bihuan", label: "闭环属性 bihuan", entries: [{ id: "bihuan-lane", component: LaneShownEntry }] };
  }
  return null;
}

export default class BihuanPropertiesProvider {
  static $inject = ["propertiesPanel"];

  constructor(propertiesPanel: { registerProvider(priority: number, provider: unknown): void }) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element: Shape): (groups: Group[]) => Group[] {
    return (groups) => {
      const group = groupFor(element);
      if (!group) return groups;
      const at = groups.findIndex((g) => g.id === "general");
      const out = [...groups];
      out.splice(at < 0 ? 0 : at + 1, 0, group);
      return out;
    };
  }
}
