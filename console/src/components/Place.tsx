// 位置 where the matter arose (coordinates and address, no map tiles: intranets have no internet),
// and 疑似重复 the open cases a new report may duplicate, for the screener (甄别) to judge.
import { href } from "../app/router";

export function PlaceFacts({ lat, lng, address }: { lat?: number | null; lng?: number | null; address: string }) {
  const has = lat !== null && lat !== undefined && lng !== null && lng !== undefined;
  const coords = has ? `${lat.toFixed(6)}, ${lng.toFixed(6)}` : null;
  return (
    <>
      <dt>发生地点</dt>
      <dd data-testid="case-address">{address}</dd>
      <dt>坐标</dt>
      <dd data-testid="case-coords">
        {coords ? (
          <>
            <span className="mono">{coords}</span>{" "}
            <button type="button" className="link" onClick={() => void navigator.clipboard?.writeText(coords)}>
              复制
            </button>{" "}
            <a href={`${href("cases")}?near=${encodeURIComponent(`${lat},${lng}`)}`}>附近案件</a>
          </>
        ) : (
          "—"
        )}
      </dd>
    </>
  );
}

interface Duplicate {
  case_no: string;
  title?: string;
  distance_m?: number | null;
  shared_parties?: number;
}

export function PossibleDuplicates({ fields }: { fields: Record<string, unknown> }) {
  const list = (Array.isArray(fields.possible_duplicates) ? fields.possible_duplicates : []) as Duplicate[];
  if (list.length === 0) return null;
  return (
    <div className="banner warn" role="note" data-testid="possible-duplicates">
      <strong>疑似重复：</strong>附近有同类、同当事人的在办案件，请甄别是否合并。
      <ul>
        {list.map((d) => (
          <li key={d.case_no}>
            <a href={href("cases", d.case_no)} className="mono">
              {d.case_no}
            </a>{" "}
            {d.title ?? ""}
            {d.distance_m !== null && d.distance_m !== undefined ? `（相距约 ${d.distance_m} 米）` : "（同一网格）"}
          </li>
        ))}
      </ul>
    </div>
  );
}
