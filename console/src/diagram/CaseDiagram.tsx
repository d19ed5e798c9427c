// The process diagram with the case's state drawn on it (bpmn-js viewer, a lazy chunk):
// completed elements, the active task(s), waiting timers, and late steps, with canvas markers
// and overlays — the XML is never edited.
import { useEffect, useRef, useState } from "react";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "./diagram.css";

export interface ElementState {
  status: string;
  late?: boolean;
  visits?: number;
}

export interface CaseDiagramProps {
  xml: string;
  /** From the case detail: element id → "active" | "completed". */
  elements: Record<string, string>;
  /** From the timeline: element id → status, late, visits. */
  history?: Record<string, ElementState>;
}

interface Shape {
  id: string;
  type: string;
  businessObject?: { eventDefinitions?: { $type: string }[] };
  waypoints?: unknown;
}
interface Canvas {
  addMarker(id: string, marker: string): void;
  zoom(level: string | number, center?: string): void;
  scrollToElement(element: Shape, padding?: number): void;
}
interface Overlays {
  add(id: string, overlay: { position: Record<string, number>; html: string }): void;
}
interface Registry {
  get(id: string): Shape | undefined;
}

function isTimer(shape: Shape): boolean {
  return (shape.businessObject?.eventDefinitions ?? []).some((d) => d.$type === "bpmn:TimerEventDefinition");
}

export default function CaseDiagram({ xml, elements, history }: CaseDiagramProps) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    if (!host.current) return;
    const viewer = new NavigatedViewer({ container: host.current });
    let live = true;
    viewer
      .importXML(xml)
      .then(() => {
        if (!live) return;
        const canvas = viewer.get<Canvas>("canvas");
        const overlays = viewer.get<Overlays>("overlays");
        const registry = viewer.get<Registry>("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        // The detail says what is active now; the history adds what was done, late and repeated.
        const states: Record<string, ElementState> = {};
        for (const [id, h] of Object.entries(history ?? {})) {
          if (h.status === "completed" || h.status === "fired") states[id] = { ...h, status: "completed" };
          else if (h.late || (h.visits ?? 0) > 1) states[id] = { ...h, status: "none" };
        }
        for (const [id, status] of Object.entries(elements)) states[id] = { ...(states[id] ?? {}), status };
        for (const [id, st] of Object.entries(states)) {
          const shape = registry.get(id);
          if (!shape) continue;
          const active = st.status === "active" || st.status === "waiting";
          if (active) canvas.addMarker(id, "bh-active");
          else if (st.status === "completed") canvas.addMarker(id, "bh-completed");
          if (active && isTimer(shape)) {
            canvas.addMarker(id, "bh-timer");
            overlays.add(id, { position: { bottom: -4, left: -10 }, html: '<div class="bh-badge bh-badge-timer">⏱ 等待</div>' });
          } else if (active && !shape.waypoints) {
            overlays.add(id, { position: { top: -22, left: 0 }, html: '<div class="bh-badge bh-badge-active">当前</div>' });
          }
          if (st.late) {
            canvas.addMarker(id, "bh-late");
            overlays.add(id, { position: { top: -22, right: 30 }, html: '<div class="bh-badge bh-badge-late">超期</div>' });
          }
          if (st.visits && st.visits > 1 && !shape.waypoints) {
            overlays.add(id, { position: { bottom: 10, right: 10 }, html: `<div class="bh-badge bh-badge-visits">×${st.visits}</div>` });
          }
        }
        // On a phone the whole process is unreadably small: show where the case is instead.
        const here = Object.entries(elements).find(([, st]) => st === "active");
        const shape = here ? registry.get(here[0]) : undefined;
        if (shape && host.current && host.current.clientWidth < 600) {
          canvas.zoom(0.8);
          canvas.scrollToElement(shape, 60);
        }
        setDrawn(true);
      })
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
      viewer.destroy();
    };
  }, [xml, elements, history]);

  return (
    <div>
      {error && <div className="banner error">流程图无法显示：{error}</div>}
      <div ref={host} className="diagram" data-testid="case-diagram" data-drawn={drawn ? "1" : undefined} />
      <div className="row muted legend">
        <span><i className="sw sw-completed" /> 已完成</span>
        <span><i className="sw sw-active" /> 当前</span>
        <span><i className="sw sw-timer" /> 等待计时</span>
        <span><i className="sw sw-late" /> 超期</span>
      </div>
    </div>
  );
}
