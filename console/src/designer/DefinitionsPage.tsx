// 流程定义: every deployed process and its versions; one version's BPMN in the viewer and the
// decision tables (DMN) of its bundle in the dmn-js viewer.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { href } from "../app/router";
import { bundleFileText, bundleListing, definitionXml, type BundleFileInfo, type DefinitionOut } from "./api";
import type { Bo } from "./bihuan";
import { BpmnView, type Viewer } from "./BpmnView";
import { centre, type Diagram } from "./markers";
import { TaskTable, taskRows, type TaskRow } from "./TaskTable";

// dmn-js only when a decision table is opened.
const DmnView = lazy(() => import("./DmnView"));

function when(iso: string): string {
  return iso.replace("T", " ").slice(0, 16);
}

export function DefinitionList({ definitions, canDesign }: { definitions: DefinitionOut[]; canDesign: boolean }) {
  const byProcess = new Map<string, DefinitionOut[]>();
  for (const d of definitions) byProcess.set(d.process_id, [...(byProcess.get(d.process_id) ?? []), d]);
  if (!definitions.length) return <p className="muted">还没有部署任何流程 (nothing is deployed yet).</p>;
  return (
    <table className="grid" data-testid="definitions">
      <thead>
        <tr>
          <th>流程 process</th>
          <th>版本 versions</th>
          <th>最新部署 latest</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {[...byProcess.entries()].map(([pid, list]) => {
          const sorted = [...list].sort((a, b) => a.version - b.version);
          const latest = sorted[sorted.length - 1];
          return (
            <tr key={pid} data-testid={`process-${pid}`}>
              <td>
                <strong>{latest.name ?? pid}</strong>
                <div className="muted mono">{pid}</div>
              </td>
              <td>
                <div className="chips">
                  {sorted.map((d) => (
                    <a key={d.version} className="chip" href={href("designer", pid, d.version)} data-testid={`version-${pid}-${d.version}`}>
                      v{d.version}
                    </a>
                  ))}
                </div>
              </td>
              <td>
                {when(latest.created_at)}
                {latest.deployed_by && <div className="muted">{latest.deployed_by}</div>}
              </td>
              <td>
                {canDesign && <a href={href("designer", pid, latest.version, "edit")}>在建模器中打开</a>}
                {sorted.length > 1 && (
                  <div>
                    <a href={href("designer", pid, "diff", sorted[sorted.length - 2].version, latest.version)}>版本对比</a>
                  </div>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

interface VersionProps {
  processId: string;
  version: number;
  versions: DefinitionOut[];
  canDesign: boolean;
}

export function VersionPage({ processId, version, versions, canDesign }: VersionProps) {
  const [xml, setXml] = useState<string | null>(null);
  const [files, setFiles] = useState<BundleFileInfo[] | null | undefined>(undefined);
  const [dmn, setDmn] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rows, setRows] = useState<TaskRow[]>([]);
  const viewer = useRef<Viewer | null>(null);
  const own = versions.filter((v) => v.process_id === processId).sort((a, b) => a.version - b.version);
  const meta = own.find((v) => v.version === version);

  useEffect(() => {
    let live = true;
    setXml(null);
    setDmn(null);
    definitionXml(processId, version)
      .then((x) => live && setXml(x))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    bundleListing(processId, version)
      .then((f) => live && setFiles(f))
      .catch(() => live && setFiles(null));
    return () => {
      live = false;
    };
  }, [processId, version]);

  const dmnFiles = (files ?? []).filter((f) => f.filename.toLowerCase().endsWith(".dmn"));
  const openDmn = (filename: string) =>
    void bundleFileText(processId, version, filename)
      .then(setDmn)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  return (
    <section data-testid="version">
      <div className="toolbar">
        <a href={href("designer")}>← 流程定义</a>
        <strong>
          {meta?.name ?? processId} · 版本 {version}
        </strong>
        <div className="chips">
          {own.map((d) => (
            <a key={d.version} className={`chip ${d.version === version ? "on" : ""}`} href={href("designer", processId, d.version)}>
              v{d.version}
            </a>
          ))}
        </div>
        <span className="spacer" />
        {canDesign && (
          <a className="button primary" href={href("designer", processId, version, "edit")} data-testid="open-modeler">
            在建模器中打开 edit
          </a>
        )}
        {own.length > 1 && (
          <a
            className="button"
            href={href("designer", processId, "diff", version > 1 ? version - 1 : version, version > 1 ? version : version + 1)}
            data-testid="open-diff"
          >
            版本对比 diff
          </a>
        )}
      </div>
      {meta && (
        <p className="muted">
          部署于 {when(meta.created_at)}
          {meta.deployed_by ? ` · ${meta.deployed_by}` : ""} · <span className="mono">{meta.content_hash.slice(0, 12)}</span>
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {xml && (
        <BpmnView
          xml={xml}
          testId="version-canvas"
          onReady={(v) => {
            viewer.current = v;
            setRows(taskRows(v.getDefinitions() as unknown as Bo));
          }}
        />
      )}
      {rows.length > 0 && (
        <TaskTable
          rows={rows}
          onLocate={(id) => {
            if (viewer.current) centre(viewer.current as unknown as Diagram, id);
            window.scrollTo({ top: 0 });
          }}
        />
      )}
      {files && (
        <div className="card">
          <h2>部署包文件 bundle</h2>
          <ul className="bh-dz-files">
            {dmnFiles.map((f) => (
              <li key={f.filename}>
                <button type="button" className="link mono" onClick={() => openDmn(f.filename)} data-testid={`dmn-${f.filename}`}>
                  {f.filename}（查看决策表 view）
                </button>
              </li>
            ))}
            {(files ?? [])
              .filter((f) => !dmnFiles.includes(f))
              .map((f) => (
                <li key={f.filename} className="mono">
                  {f.filename}
                </li>
              ))}
          </ul>
          {dmnFiles.length === 0 && <p className="muted">此部署包没有决策表 (no DMN in this bundle).</p>}
        </div>
      )}
      {dmn && (
        <Suspense fallback={<div className="loading">正在加载决策表…</div>}>
          <DmnView xml={dmn} testId="dmn-view" />
        </Suspense>
      )}
    </section>
  );
}
