// 建模器: open a deployed version in the bpmn-js Modeler (its own chunk, loaded on demand),
// edit it with bihuan's properties panel, 校验 against the server and 部署 as a new version.
// A deploy sends the whole bundle (the edited BPMN plus the bundle's DMN, other BPMN files and
// forms), exactly as the server's deploy expects.
import { useCallback, useEffect, useRef, useState } from "react";
import { href } from "../app/router";
import { ApiError } from "../api/client";
import {
  bundleFiles,
  definitionXml,
  deployBundle,
  serverCatalog,
  validateBundle,
  type BundleFile,
  type DeployedOut,
} from "./api";
import { buildCatalog, type ServerCatalog } from "./catalog";
import { centre, showProblems, type Diagram, type PlacedProblems } from "./markers";
import { ProblemList } from "./ProblemList";
import type { CatalogHolder } from "./modeler/BihuanPropertiesProvider";

type ModelerModule = typeof import("./modeler/createModeler");
type Modeler = ReturnType<ModelerModule["createModeler"]>;

interface Props {
  processId: string;
  version: number;
  canDeploy: boolean;
}

type Status =
  | { kind: "idle" }
  | { kind: "busy"; text: string }
  | { kind: "ok"; text: string }
  | { kind: "error"; text: string };

function message(e: unknown): string {
  if (e instanceof ApiError) return `${e.detail}${e.status ? ` (${e.status} ${e.code})` : ""}`;
  return e instanceof Error ? e.message : String(e);
}

async function readFiles(list: FileList): Promise<BundleFile[]> {
  return Promise.all(Array.from(list).map(async (f) => ({ filename: f.name, text: await f.text() })));
}

export function ModelerPage({ processId, version, canDeploy }: Props) {
  const canvasRef = useRef<HTMLDivElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const modeler = useRef<Modeler | null>(null);
  const holder = useRef<CatalogHolder | null>(null);
  const server = useRef<ServerCatalog | undefined>(undefined);
  const [sourceName, setSourceName] = useState(`${processId}.bpmn`);
  const [others, setOthers] = useState<BundleFile[]>([]);
  const [bundleKnown, setBundleKnown] = useState<boolean | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [status, setStatus] = useState<Status>({ kind: "busy", text: "正在加载建模器…" });
  const [problems, setProblems] = useState<PlacedProblems | null>(null);
  const [deployed, setDeployed] = useState<DeployedOut[] | null>(null);
  const [nodes, setNodes] = useState<{ id: string; name: string }[]>([]);

  const refreshCatalog = useCallback((source: string, files: BundleFile[]) => {
    if (!holder.current) return;
    const texts = [...files, { filename: "current.bpmn", text: source }].filter((f) => !f.filename.endsWith(".json"));
    const forms = files.filter((f) => f.filename.endsWith(".json")).map((f) => f.filename);
    holder.current.current = buildCatalog(texts, forms, server.current);
    modeler.current?.get<{ fire(event: string): void }>("eventBus").fire("propertiesPanel.providersChanged");
  }, []);

  useEffect(() => {
    let live = true;
    (async () => {
      const [mod, xml, files, catalog] = await Promise.all([
        import("./modeler/createModeler"),
        definitionXml(processId, version),
        bundleFiles(processId, version),
        serverCatalog(),
      ]);
      if (!live) return;
      server.current = catalog ?? undefined;
      holder.current = new mod.CatalogHolder();
      const m = mod.createModeler(canvasRef.current!, panelRef.current!, holder.current);
      modeler.current = m;
      let rest: BundleFile[] = [];
      if (files) {
        const own =
          files.find((f) => f.source) ??
          files.find((f) => f.text === xml) ??
          files.find((f) => f.filename === `${processId}.bpmn`);
        if (own) setSourceName(own.filename);
        rest = files.filter((f) => f !== own);
      }
      setOthers(rest);
      setBundleKnown(files !== null);
      refreshCatalog(xml, rest);
      const result = await m.importXML(xml);
      if (!live) return;
      setWarnings(result.warnings.map((w) => String((w as { message?: string }).message ?? w)));
      m.get<{ zoom(to: string): void }>("canvas").zoom("fit-viewport");
      const listNodes = () =>
        setNodes(
          m
            .get<{ filter(fn: (el: { type: string }) => boolean): { id: string; businessObject: { name?: string } }[] }>(
              "elementRegistry",
            )
            .filter((el) => /Task$|Event$|Gateway$|SubProcess$|CallActivity$/.test(el.type) && !el.type.endsWith("label"))
            .map((el) => ({ id: el.id, name: el.businessObject.name ?? "" }))
            .sort((a, b) => a.id.localeCompare(b.id)),
        );
      listNodes();
      m.on("commandStack.changed", () => {
        setDirty(true);
        listNodes();
      });
      setLoaded(true);
      setStatus({ kind: "idle" });
    })().catch((e: unknown) => live && setStatus({ kind: "error", text: message(e) }));
    return () => {
      live = false;
      modeler.current?.destroy();
      modeler.current = null;
    };
  }, [processId, version, refreshCatalog]);

  // A reload or a closed tab would lose unsaved edits: let the browser ask first.
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const stack = (action: "undo" | "redo") =>
    modeler.current?.get<{ undo(): void; redo(): void }>("commandStack")[action]();

  const currentBundle = async (): Promise<BundleFile[]> => {
    const { xml } = await modeler.current!.saveXML({ format: true });
    return [{ filename: sourceName, text: xml ?? "" }, ...others.filter((f) => f.filename !== sourceName)];
  };

  const attach = async (list: FileList | null) => {
    if (!list?.length) return;
    const added = await readFiles(list);
    const names = new Set(added.map((f) => f.filename));
    const next = [...others.filter((f) => !names.has(f.filename)), ...added];
    setOthers(next);
    const { xml } = await modeler.current!.saveXML();
    refreshCatalog(xml ?? "", next);
  };

  const validate = async () => {
    setStatus({ kind: "busy", text: "正在校验…" });
    setDeployed(null);
    try {
      const result = await validateBundle(await currentBundle());
      const m = modeler.current as unknown as Diagram;
      if (result.ok) {
        showProblems(m, [], sourceName);
        setProblems(null);
        setStatus({ kind: "ok", text: "校验通过：没有问题 (the bundle is valid)" });
      } else {
        setProblems(showProblems(m, result.problems, sourceName));
        setStatus({ kind: "error", text: `校验发现 ${result.problems.length} 个问题 (problems found)` });
      }
    } catch (e) {
      setStatus({ kind: "error", text: message(e) });
    }
  };

  const deploy = async () => {
    setStatus({ kind: "busy", text: "正在部署…" });
    try {
      const out = await deployBundle(await currentBundle());
      setDeployed(out);
      setDirty(false);
      setProblems(null);
      showProblems(modeler.current as unknown as Diagram, [], sourceName);
      const mine = out.find((d) => d.process_id === processId);
      setStatus({
        kind: "ok",
        text: mine
          ? mine.created
            ? `已部署为新版本：${processId} 版本 ${mine.version} (deployed as version ${mine.version})`
            : `内容未变，已有版本 ${mine.version} (same content as version ${mine.version})`
          : "已部署 (deployed)",
      });
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.problems.length) {
        setProblems(showProblems(modeler.current as unknown as Diagram, e.problems, sourceName));
        setStatus({ kind: "error", text: `部署被拒绝：${e.problems.length} 个问题 (deploy refused)` });
      } else setStatus({ kind: "error", text: message(e) });
    }
  };

  const download = async () => {
    const { xml } = await modeler.current!.saveXML({ format: true });
    const url = URL.createObjectURL(new Blob([xml ?? ""], { type: "application/xml" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = sourceName;
    a.click();
    URL.revokeObjectURL(url);
  };

  const locate = (id: string) => {
    const m = modeler.current;
    if (!m || !centre(m as unknown as Diagram, id)) return;
    m.get<{ select(el: unknown): void }>("selection").select(m.get<{ get(id: string): unknown }>("elementRegistry").get(id));
  };

  const busy = status.kind === "busy";
  return (
    <section className="bh-dz-modeler" data-testid="modeler">
      <div className="toolbar">
        <a href={href("designer", processId, version)}>← 返回版本 {version}</a>
        <strong>
          建模器 · {processId} 版本 {version}
          {dirty && <span className="muted">（已修改 modified）</span>}
        </strong>
        <label className="bh-dz-inline">
          定位 find
          <select
            className="bh-dz-find"
            value=""
            onChange={(e) => e.target.value && locate(e.target.value)}
            data-testid="find-element"
          >
            <option value="">元素 element…</option>
            {nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name ? `${n.name} (${n.id})` : n.id}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => stack("undo")} disabled={!loaded} title="撤销 undo" aria-label="撤销">
          ↶
        </button>
        <button type="button" onClick={() => stack("redo")} disabled={!loaded} title="重做 redo" aria-label="重做">
          ↷
        </button>
        <span className="spacer" />
        <button type="button" onClick={() => void validate()} disabled={!loaded || busy} data-testid="validate">
          校验 validate
        </button>
        {canDeploy && (
          <button
            type="button"
            className="primary"
            onClick={() => void deploy()}
            disabled={!loaded || busy}
            data-testid="deploy"
          >
            部署为新版本 deploy
          </button>
        )}
        <button type="button" onClick={() => void download()} disabled={!loaded}>
          下载 XML
        </button>
      </div>
      <p className={`bh-dz-status ${status.kind === "error" ? "error" : status.kind === "ok" ? "ok" : "muted"}`} data-testid="modeler-status" role="status">
        {status.kind === "idle" ? "\u00a0" : status.text}
        {deployed && (
          <>
            {" "}
            {deployed.map((d) => (
              <a key={`${d.process_id}-${d.version}`} href={href("designer", d.process_id, d.version)} className="bh-dz-gap">
                {d.process_id} v{d.version}
              </a>
            ))}
          </>
        )}
      </p>
      {warnings.length > 0 && (
        <div className="card error" data-testid="import-warnings">
          导入时有 {warnings.length} 条警告，保存可能丢失内容 (import warnings: saving may lose content):
          <ul>
            {warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </div>
      )}
      <div className="bh-dz-modeler-body">
        <div ref={canvasRef} className="bh-dz-modeler-canvas" data-testid="modeler-canvas" />
        <div ref={panelRef} className="bh-dz-modeler-panel" data-testid="properties-panel" />
      </div>
      {problems && <ProblemList onDiagram={problems.onDiagram} elsewhere={problems.elsewhere} onLocate={locate} />}
      <details className="card bh-dz-bundle" open={bundleKnown === false}>
        <summary>
          部署包文件 bundle files：{sourceName}（编辑中）+ {others.length} 个
          {bundleKnown === false && <span className="error">：服务器未提供部署包文件，请附加表单与决策表 (attach the forms and DMN)</span>}
        </summary>
        <p className="muted">
          部署时与编辑后的流程一起发送 (sent with the edited process on validate and deploy).
        </p>
        <ul className="bh-dz-files" data-testid="bundle-files">
          {others.map((f) => (
            <li key={f.filename} className="mono">
              {f.filename}
            </li>
          ))}
        </ul>
        <label>
          附加或替换文件 (attach or replace files: .bpmn .dmn .json)
          <input type="file" multiple accept=".bpmn,.dmn,.json" data-testid="attach" onChange={(e) => void attach(e.target.files)} />
        </label>
      </details>
    </section>
  );
}
