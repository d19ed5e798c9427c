// Drawing on a bpmn-js diagram with the canvas's markers and overlays (never by editing the XML):
// validation problems on the element they name, diff results on both versions.
import type { BundleProblem } from "./api";

export interface Diagram {
  get<T>(name: string): T;
}

interface Canvas {
  addMarker(id: string, marker: string): void;
  removeMarker(id: string, marker: string): void;
}

interface Overlays {
  add(id: string, type: string, overlay: { position: Record<string, number>; html: HTMLElement }): string;
  remove(filter: { type: string }): void;
}

interface ElementRegistry {
  get(id: string): unknown;
  getAll(): { id: string }[];
}

export function hasElement(diagram: Diagram, id: string | null | undefined): boolean {
  return !!id && !!diagram.get<ElementRegistry>("elementRegistry").get(id);
}

/** Remove every marker of the given classes and every overlay of the given type. */
export function clearMarks(diagram: Diagram, markers: string[], overlayType: string): void {
  const canvas = diagram.get<Canvas>("canvas");
  for (const el of diagram.get<ElementRegistry>("elementRegistry").getAll())
    for (const m of markers) canvas.removeMarker(el.id, m);
  diagram.get<Overlays>("overlays").remove({ type: overlayType });
}

export function note(text: string, className: string, testId: string): HTMLElement {
  const div = document.createElement("div");
  div.className = className;
  div.textContent = text;
  div.dataset.testid = testId;
  div.title = text;
  return div;
}

export interface PlacedProblems {
  /** Problems drawn on the diagram, by element id. */
  onDiagram: Map<string, BundleProblem[]>;
  /** Problems of other files, or naming no element of this diagram. */
  elsewhere: BundleProblem[];
}

/** Mark each problem on the element it names (red outline and a note below it). */
export function showProblems(diagram: Diagram, problems: BundleProblem[], file: string): PlacedProblems {
  clearMarks(diagram, ["bh-problem"], "bh-problem");
  const onDiagram = new Map<string, BundleProblem[]>();
  const elsewhere: BundleProblem[] = [];
  for (const p of problems) {
    if (p.element_id && p.file === file && hasElement(diagram, p.element_id)) {
      const list = onDiagram.get(p.element_id) ?? [];
      list.push(p);
      onDiagram.set(p.element_id, list);
    } else elsewhere.push(p);
  }
  const canvas = diagram.get<Canvas>("canvas");
  const overlays = diagram.get<Overlays>("overlays");
  for (const [id, list] of onDiagram) {
    canvas.addMarker(id, "bh-problem");
    const text = list.map((p) => p.message).join("；");
    overlays.add(id, "bh-problem", {
      position: { bottom: -6, left: 0 },
      html: note(text, "bh-dz-problem-note", `problem-${id}`),
    });
  }
  return { onDiagram, elsewhere };
}

/** Zoom to 100 % with the element in the middle of the canvas; false when it is not there. */
export function centre(diagram: Diagram, id: string): boolean {
  const el = diagram.get<{ get(id: string): unknown }>("elementRegistry").get(id) as
    | { x: number; y: number; width: number; height: number; waypoints?: { x: number; y: number }[] }
    | undefined;
  if (!el) return false;
  const canvas = diagram.get<{
    zoom(level: number): void;
    viewbox(box?: { x: number; y: number; width: number; height: number }): { width: number; height: number };
  }>("canvas");
  canvas.zoom(1);
  const box = canvas.viewbox();
  const point = el.waypoints?.length
    ? el.waypoints[Math.floor(el.waypoints.length / 2)]
    : { x: el.x + el.width / 2, y: el.y + el.height / 2 };
  canvas.viewbox({ x: point.x - box.width / 2, y: point.y - box.height / 2, width: box.width, height: box.height });
  return true;
}
