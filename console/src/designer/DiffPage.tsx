// 版本对比: two versions side by side; added / removed / changed elements drawn on the
// diagrams (markers and a short note) and listed with each changed property.
import { useCallback, useEffect, useRef, useState } from "react";
import { href, navigate } from "../app/router";
import { definitionXml, type DefinitionOut } from "./api";
import type { Bo } from "./bihuan";
import { BpmnView, type Viewer } from "./BpmnView";
import { KIND_LABEL, diffDefinitions, type ElementChange } from "./diff";
import { centre, clearMarks, hasElement, note, type Diagram } from "./markers";

const MARKERS = ["bh-diff-added", "bh-diff-removed", "bh-diff-changed", "bh-diff-moved"];
const SHORT: Record<string, string> = { added: "新增", removed: "删除", changed: "修改", moved: "移动" };

function mark(viewer: Viewer, changes: ElementChange[], side: "before" | "after"): void {
  const d = viewer as unknown as Diagram;
  clearMarks(d, MARKERS, "bh-diff");
  const canvas = d.get<{ addMarker(id: string, m: string): void }>("canvas");
  const overlays = d.get<{ add(id: string, type: string, o: unknown): void }>("overlays");
  for (const c of changes) {
    if ((side === "before" && c.kind === "added") || (side === "after" && c.kind === "removed")) continue;
    if (!hasElement(d, c.id)) continue;
    canvas.addMarker(c.id, `bh-diff-${c.kind}`);
    overlays.add(c.id, "bh-diff", {
      position: { top: -12, right: 8 },
      html: note(SHORT[c.kind], `bh-dz-diff-note bh-dz-diff-${c.kind}`, `diff-${side}-${c.id}`),
    });
  }
}

function show(v: string | undefined): string {
  return v === undefined ? "—" : v === "" ? "（空）" : v;
}

interface Props {
  processId: string;
  before: number;
  after: number;
  versions: DefinitionOut[];
}

export function DiffPage({ processId, before, after, versions }: Props) {
  const [xml, setXml] = useState<{ a: string; b: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [changes, setChanges] = useState<ElementChange[] | null>(null);
  const viewers = useRef<{ a: Viewer | null; b: Viewer | null }>({ a: null, b: null });

  useEffect(() => {
    let live = true;
    setXml(null);
    setChanges(null);
    viewers.current = { a: null, b: null };
    Promise.all([definitionXml(processId, before), definitionXml(processId, after)])
      .then(([a, b]) => live && setXml({ a, b }))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [processId, before, after]);

  const compute = useCallback(() => {
    const { a, b } = viewers.current;
    if (!a || !b) return;
    const result = diffDefinitions(a.getDefinitions() as unknown as Bo, b.getDefinitions() as unknown as Bo);
    mark(a, result, "before");
    mark(b, result, "after");
    // Show the first change at 100 % (the list centres any other on a click).
    const first = result.find((c) => c.kind !== "moved");
    if (first) for (const v of [a, b]) centre(v as unknown as Diagram, first.id);
    setChanges(result);
  }, []);

  const own = versions.filter((v) => v.process_id === processId).map((v) => v.version);
  const pick = (which: "a" | "b", value: number) =>
    navigate(href("designer", processId, "diff", which === "a" ? value : before, which === "b" ? value : after));

  return (
    <section className="bh-dz-diff" data-testid="diff">
      <div className="toolbar">
        <a href={href("designer", processId, after)}>← {processId}</a>
        <strong>版本对比 {processId}</strong>
        <label className="bh-dz-inline">
          旧 before
          <select value={before} onChange={(e) => pick("a", Number(e.target.value))} data-testid="diff-before">
            {own.map((v) => (
              <option key={v} value={v}>
                版本 {v}
              </option>
            ))}
          </select>
        </label>
        <label className="bh-dz-inline">
          新 after
          <select value={after} onChange={(e) => pick("b", Number(e.target.value))} data-testid="diff-after">
            {own.map((v) => (
              <option key={v} value={v}>
                版本 {v}
              </option>
            ))}
          </select>
        </label>
        <span className="bh-dz-legend">
          <span className="bh-dz-diff-note bh-dz-diff-added">新增</span>
          <span className="bh-dz-diff-note bh-dz-diff-removed">删除</span>
          <span className="bh-dz-diff-note bh-dz-diff-changed">修改</span>
          <span className="bh-dz-diff-note bh-dz-diff-moved">移动</span>
        </span>
      </div>
      {error && <p className="error">{error}</p>}
      {xml && (
        <div className="bh-dz-diff-pair">
          <div>
            <h2>版本 {before}</h2>
            <BpmnView
              xml={xml.a}
              testId="diff-canvas-before"
              onReady={(v) => {
                viewers.current.a = v;
                compute();
              }}
            />
          </div>
          <div>
            <h2>版本 {after}</h2>
            <BpmnView
              xml={xml.b}
              testId="diff-canvas-after"
              onReady={(v) => {
                viewers.current.b = v;
                compute();
              }}
            />
          </div>
        </div>
      )}
      {changes && (
        <div className="card" data-testid="diff-list">
          {changes.length === 0 ? (
            <p>两个版本的流程相同 (no difference).</p>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th>变化 change</th>
                  <th>元素 element</th>
                  <th>类型 type</th>
                  <th>属性 property: 旧 → 新</th>
                </tr>
              </thead>
              <tbody>
                {changes.map((c) => (
                  <tr
                    key={`${c.kind}-${c.id}`}
                    data-testid={`diff-row-${c.id}`}
                    data-kind={c.kind}
                    className="bh-dz-clickable"
                    title="在图中显示 (show on the diagrams)"
                    onClick={() => {
                      for (const v of [viewers.current.a, viewers.current.b]) if (v) centre(v as unknown as Diagram, c.id);
                    }}
                  >
                    <td>
                      <span className={`bh-dz-diff-note bh-dz-diff-${c.kind}`}>{KIND_LABEL[c.kind]}</span>
                    </td>
                    <td>
                      {c.name}
                      {c.name !== c.id && <div className="muted mono">{c.id}</div>}
                    </td>
                    <td className="mono">{c.type.replace("bpmn:", "")}</td>
                    <td>
                      {c.changes.map((p) => (
                        <div key={p.key}>
                          <span className="mono">{p.key}</span>: {show(p.before)} → <strong>{show(p.after)}</strong>
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
