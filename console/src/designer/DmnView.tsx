// A read-only dmn-js viewer: the decision table (or the DRD when there is no table).
import { useEffect, useRef, useState } from "react";
import DmnNavigatedViewer from "dmn-js/lib/NavigatedViewer";
import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-font/css/dmn-embedded.css";

export default function DmnView({ xml, testId }: { xml: string; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [views, setViews] = useState<{ id: string; name?: string; type: string }[]>([]);
  const viewer = useRef<DmnNavigatedViewer | null>(null);

  useEffect(() => {
    const v = new DmnNavigatedViewer({ container: ref.current! });
    viewer.current = v;
    v.importXML(xml)
      .then(() => {
        const all = v.getViews();
        setViews(all);
        const table = all.find((x) => x.type === "decisionTable");
        return table ? v.open(table) : undefined;
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return () => {
      v.destroy();
      viewer.current = null;
    };
  }, [xml]);

  return (
    <div className="bh-dz-dmn" data-testid={testId}>
      {views.length > 1 && (
        <div className="toolbar">
          {views.map((view) => (
            <button key={view.id} type="button" onClick={() => void viewer.current?.open(view)}>
              {view.name ?? view.id}（{view.type === "drd" ? "关系图 DRD" : "决策表 table"}）
            </button>
          ))}
        </div>
      )}
      <div ref={ref} className="bh-dz-dmn-host" />
      {error && <p className="error">无法显示决策表 (cannot show the decision): {error}</p>}
    </div>
  );
}
