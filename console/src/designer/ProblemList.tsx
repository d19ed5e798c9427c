// Every problem a validation found, as a list: those drawn on the diagram (with a button that
// shows the element) first, then those of other files or naming no element of the diagram.
import type { BundleProblem } from "./api";

interface Props {
  onDiagram: Map<string, BundleProblem[]>;
  elsewhere: BundleProblem[];
  onLocate?: (elementId: string) => void;
}

export function ProblemList({ onDiagram, elsewhere, onLocate }: Props) {
  const drawn = [...onDiagram.entries()].flatMap(([id, list]) => list.map((p) => ({ id, p })));
  return (
    <div className="card" data-testid="problems">
      <p>
        共 {drawn.length + elsewhere.length} 个问题：{drawn.length} 个标在图中元素上 (on the diagram)，
        {elsewhere.length} 个不属于图中元素 (elsewhere)
      </p>
      <table className="grid">
        <thead>
          <tr>
            <th>元素 element</th>
            <th>文件 file</th>
            <th>行 line</th>
            <th>问题 problem</th>
          </tr>
        </thead>
        <tbody data-testid="problems-on-diagram">
          {drawn.map(({ id, p }, i) => (
            <tr key={`d${i}`}>
              <td>
                {onLocate ? (
                  <button type="button" className="link mono" onClick={() => onLocate(id)}>
                    {id}
                  </button>
                ) : (
                  <span className="mono">{id}</span>
                )}
              </td>
              <td className="mono">{p.file}</td>
              <td>{p.line ?? ""}</td>
              <td>{p.message}</td>
            </tr>
          ))}
        </tbody>
        <tbody data-testid="problems-elsewhere">
          {elsewhere.map((p, i) => (
            <tr key={`e${i}`}>
              <td className="mono">{p.element_id ?? "（无元素 none）"}</td>
              <td className="mono">{p.file}</td>
              <td>{p.line ?? ""}</td>
              <td>{p.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
