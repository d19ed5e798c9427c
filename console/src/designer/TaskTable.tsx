// 任务与属性: every start event, user task and business rule task of a version with bihuan's
// properties (form, case status, deadline key, priority, decision) and its lane, to review a
// version without clicking through the diagram. A row centres its element.
import { PROPERTY, bihuanProperties, calledDecisionId, isType, laneOf, type Bo } from "./bihuan";

export interface TaskRow {
  id: string;
  name: string;
  type: string;
  lane: string;
  props: Record<string, string>;
  decision?: string;
}

/** The rows, in the order of the process (sub-processes inline), from the viewer's definitions. */
export function taskRows(definitions: Bo): TaskRow[] {
  const rows: TaskRow[] = [];
  const walk = (container: Bo) => {
    for (const el of (container.get("flowElements") as Bo[] | undefined) ?? []) {
      if (isType(el, "bpmn:UserTask") || isType(el, "bpmn:StartEvent") || isType(el, "bpmn:BusinessRuleTask")) {
        const props = bihuanProperties(el);
        if (isType(el, "bpmn:StartEvent") && !Object.keys(props).length) continue;
        rows.push({
          id: el.id ?? "",
          name: (el.get("name") as string | undefined) ?? "",
          type: el.$type.replace("bpmn:", ""),
          lane: laneOf(el) ?? "",
          props,
          decision: calledDecisionId(el),
        });
      }
      if (isType(el, "bpmn:SubProcess")) walk(el);
    }
  };
  for (const root of (definitions.get("rootElements") as Bo[] | undefined) ?? [])
    if (isType(root, "bpmn:Process")) walk(root);
  return rows;
}

export function TaskTable({ rows, onLocate }: { rows: TaskRow[]; onLocate: (id: string) => void }) {
  return (
    <div className="card bh-dz-scroll" data-testid="task-table">
      <h2>任务与属性 tasks and their properties</h2>
      <table className="grid">
        <thead>
          <tr>
            <th>任务 task</th>
            <th>泳道 lane</th>
            <th>表单 form</th>
            <th>案件状态 status</th>
            <th>时限 deadline</th>
            <th>优先级</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} className="bh-dz-clickable" onClick={() => onLocate(r.id)} data-testid={`task-row-${r.id}`}>
              <td>
                {r.name}
                <div className="muted mono">{r.id}</div>
              </td>
              <td>{r.lane}</td>
              <td className="mono">{r.decision ? `决策表 ${r.decision}` : (r.props[PROPERTY.form] ?? "")}</td>
              <td className="mono">{r.props[PROPERTY.caseStatus] ?? ""}</td>
              <td className="mono">{r.props[PROPERTY.deadline] ?? ""}</td>
              <td>{r.props[PROPERTY.priority] ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
