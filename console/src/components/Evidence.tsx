// 证据材料 the evidence of a case: photos shown as thumbnails, documents as links, each with who
// attached it, when, and its SHA-256 (the audit chain records the same digest). Uploading from a
// phone opens its camera ("capture"); the server judges the type by the content.
import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import type { AttachmentOut } from "../api/types";
import { errorText, fmtTime } from "../app/format";
import { Banner } from "./bits";

const KINDS: [string, string][] = [
  ["", "按文件类型"],
  ["photo", "现场照片"],
  ["agreement", "调解协议书"],
  ["statement", "情况说明"],
  ["document", "其他材料"],
  ["video", "视频"],
];

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function useObjectUrl(a: AttachmentOut, wanted: boolean): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!wanted) return;
    let made: string | null = null;
    let live = true;
    api
      .attachmentBlob(a.id)
      .then((blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      })
      .catch(() => setUrl(null));
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [a.id, wanted]);
  return url;
}

function Item({ a }: { a: AttachmentOut }) {
  const photo = a.media_type.startsWith("image/") && a.media_type !== "image/heic";
  const thumb = useObjectUrl(a, photo);
  const open = async () => {
    const blob = await api.attachmentBlob(a.id);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = a.filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <li className="evidence-item" data-testid="attachment" data-kind={a.kind}>
      {photo && thumb && <img src={thumb} alt={a.filename} className="thumb" />}
      <div>
        <button type="button" className="link" onClick={() => void open()}>
          {a.filename}
        </button>
        <span className="badge">{a.kind_label}</span>
        <div className="muted">
          {size(a.size)} · {a.uploaded_by} · {fmtTime(a.uploaded_at)}
          {a.task_id ? " · 随任务提交" : ""}
        </div>
        <div className="muted mono" title="SHA-256（审计链记录同一摘要）">
          SHA-256 {a.sha256.slice(0, 16)}…
        </div>
      </div>
    </li>
  );
}

export function EvidencePanel({
  caseNo,
  taskId,
  canUpload,
  refreshKey,
}: {
  caseNo: string;
  taskId?: string;
  canUpload: boolean;
  refreshKey?: number;
}) {
  const [items, setItems] = useState<AttachmentOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [flash, setFlash] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState("");
  const [busy, setBusy] = useState(false);
  const [inputKey, setInputKey] = useState(0);

  const load = useCallback(() => {
    api
      .attachments(caseNo)
      .then((r) => {
        setItems(r.items);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  }, [caseNo]);
  useEffect(load, [load, refreshKey]);

  async function upload() {
    if (!file) return;
    setBusy(true);
    setFlash(null);
    const form = new FormData();
    form.append("file", file, file.name);
    if (kind) form.append("kind", kind);
    if (taskId) form.append("task_id", taskId);
    try {
      const made = await api.attach(caseNo, form);
      setFlash({ kind: "ok", text: `已上传：${made.filename}` });
      setFile(null);
      setInputKey((n) => n + 1);
      load();
    } catch (e) {
      setFlash({ kind: "error", text: `上传失败：${errorText(e)}` });
    } finally {
      setBusy(false);
    }
  }

  const shown = taskId ? (items ?? []).filter((a) => a.task_id === taskId) : (items ?? []);
  return (
    <div className="card" data-testid="evidence">
      <h2>{taskId ? "本任务材料" : "证据材料"}</h2>
      {error && <Banner kind="error">{error}</Banner>}
      {items !== null && shown.length === 0 && <p className="muted">暂无材料。</p>}
      <ul className="evidence-list">
        {shown.map((a) => (
          <Item key={a.id} a={a} />
        ))}
      </ul>
      {canUpload && (
        <form
          className="evidence-upload"
          aria-label="上传材料"
          onSubmit={(e) => {
            e.preventDefault();
            void upload();
          }}
        >
          {flash && <Banner kind={flash.kind}>{flash.text}</Banner>}
          <div className="row">
            <input
              key={inputKey}
              type="file"
              name="file"
              aria-label="选择文件"
              accept="image/*,video/mp4,application/pdf,.docx,.xlsx,.ofd"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
            <select aria-label="材料类别" value={kind} onChange={(e) => setKind(e.target.value)}>
              {KINDS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
            <button type="submit" disabled={!file || busy}>
              上传
            </button>
          </div>
          <p className="muted">照片、PDF、Word/Excel、OFD 或 MP4 视频；按内容识别类型，上传记入审计链。</p>
        </form>
      )}
    </div>
  );
}
