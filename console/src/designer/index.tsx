// The process designer (流程设计), loaded on demand by the shell at #/designer:
//   #/designer                        流程定义 every process and version
//   #/designer/<process>/<n>          one version in the viewer (and its bundle's DMN)
//   #/designer/<process>/<n>/edit     建模器 the modeler (a chunk of its own) → 校验 / 部署
//   #/designer/<process>/diff/<a>/<b> 版本对比 version a against version b
import { useEffect, useState } from "react";
import { href, useRoute } from "../app/router";
import { useSession } from "../app/session";
import { definitions as listDefinitions, type DefinitionOut } from "./api";
import { DefinitionList, VersionPage } from "./DefinitionsPage";
import { DiffPage } from "./DiffPage";
import { ModelerPage } from "./ModelerPage";
import "./designer.css";

export default function DesignerApp() {
  const route = useRoute();
  const { can } = useSession();
  const [defs, setDefs] = useState<DefinitionOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, processId, second, third, fourth] = route.parts;

  // Re-read the list on every move inside the designer (a deploy adds a version).
  useEffect(() => {
    let live = true;
    listDefinitions()
      .then((d) => live && setDefs(d))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [route.parts.join("/")]);

  if (error) return <p className="error">{error}</p>;
  if (!defs) return <div className="loading">正在加载…</div>;

  if (processId && second === "diff" && third && fourth)
    return <DiffPage processId={processId} before={Number(third)} after={Number(fourth)} versions={defs} />;
  if (processId && second && third === "edit")
    return can.design ? (
      <ModelerPage processId={processId} version={Number(second)} canDeploy />
    ) : (
      <p className="error" data-testid="no-modeler">
        建模器只对流程设计人员开放 (the modeler is for the designer role).{" "}
        <a href={href("designer", processId, second)}>查看此版本 view this version</a>
      </p>
    );
  if (processId && second) return <VersionPage processId={processId} version={Number(second)} versions={defs} canDesign={can.design} />;
  return (
    <section data-testid="designer">
      <h1>流程定义 process definitions</h1>
      <DefinitionList definitions={defs} canDesign={can.design} />
    </section>
  );
}
