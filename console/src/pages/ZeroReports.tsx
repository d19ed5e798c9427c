// 零报告: the grid worker's open attestations ("nothing to report today"), one per grid and
// working day, shown at the top of the inbox. The worker confirms it; the system never does.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { ZeroReportOut } from "../api/types";
import { errorText, fmtTime } from "../app/format";
import { href } from "../app/router";
import { Banner } from "../components/bits";

function ZeroReportCard({ z, onDone }: { z: ZeroReportOut; onDone: (z: ZeroReportOut) => void }) {
  const [note, setNote] = useState("");
  const [sure, setSure] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function attest() {
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { nothing_to_report: true };
      if (note.trim()) body.note = note.trim();
      onDone(await api.attestZeroReport(z.id, body));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="card" data-testid={`zero-report-${z.id}`}>
      <strong>
        {z.org_name} · {z.day} 日排查零报告
      </strong>{" "}
      <span className="muted">请于 {fmtTime(z.due_at)} 前确认</span>
      <label className="row">
        <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} />
        经排查，本网格今日无矛盾纠纷需上报
      </label>
      <label className="row">
        排查情况说明（可选）
        <input aria-label="排查情况说明" value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      {error && <Banner kind="error">{error}</Banner>}
      <button type="button" disabled={!sure || busy} onClick={attest}>
        确认零报告
      </button>{" "}
      <a href={href("report")}>有情况？去上报</a>
    </div>
  );
}

export function ZeroReports() {
  const [open, setOpen] = useState<ZeroReportOut[]>([]);
  const [done, setDone] = useState<ZeroReportOut | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .zeroReports("open")
      .then(setOpen)
      .catch((e) => setError(errorText(e)));
  }, []);
  if (error) return <Banner kind="error">{error}</Banner>;
  return (
    <div data-testid="zero-reports">
      {done && (
        <Banner kind="ok">
          已确认 {done.org_name} {done.day} 零报告（{fmtTime(done.attested_at)}）。
        </Banner>
      )}
      {open.map((z) => (
        <ZeroReportCard
          key={z.id}
          z={z}
          onDone={(d) => {
            setDone(d);
            setOpen((list) => list.filter((x) => x.id !== d.id));
          }}
        />
      ))}
    </div>
  );
}
