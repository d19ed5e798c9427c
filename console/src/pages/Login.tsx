import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useSession } from "../app/session";

export function LoginPage() {
  const { signIn } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "用户名或密码错误 (wrong user name or password)"
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login">
      <form onSubmit={submit} aria-label="登录">
        <h1>闭环 · 矛盾纠纷多元化解</h1>
        <p className="muted">bihuan console — 请登录 (sign in)</p>
        <label>
          用户名
          <input name="username" autoComplete="username" value={username} required
            onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          密码
          <input name="password" type="password" autoComplete="current-password" value={password} required
            onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {busy ? "正在登录…" : "登录"}
        </button>
      </form>
    </div>
  );
}
