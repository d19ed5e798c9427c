// A read-only bpmn-js viewer (pan and zoom) for one BPMN document; `onReady` gets the viewer
// after each import, to draw markers and overlays.
import { useEffect, useRef, useState } from "react";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import spiffworkflow from "./spiffworkflow.json";

export type Viewer = NavigatedViewer;

interface Props {
  xml: string;
  onReady?: (viewer: Viewer) => void;
  testId?: string;
  className?: string;
}

export function BpmnView({ xml, onReady, testId, className }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const viewer = useRef<Viewer | null>(null);
  const ready = useRef(onReady);
  ready.current = onReady;
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  useEffect(() => {
    const v = new NavigatedViewer({ container: ref.current!, moddleExtensions: { spiffworkflow } });
    viewer.current = v;
    return () => {
      v.destroy();
      viewer.current = null;
    };
  }, []);

  useEffect(() => {
    const v = viewer.current;
    if (!v) return;
    let live = true;
    setDone(false);
    v.importXML(xml)
      .then(() => {
        if (!live) return;
        setError(null);
        v.get<{ zoom(to: string): void }>("canvas").zoom("fit-viewport");
        ready.current?.(v);
        setDone(true);
      })
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [xml]);

  return (
    <div className={`bh-dz-canvas ${className ?? ""}`} data-testid={testId} data-ready={done ? "1" : "0"}>
      <div ref={ref} className="bh-dz-canvas-host" />
      {error && <p className="error">无法显示流程图 (cannot show the diagram): {error}</p>}
    </div>
  );
}
