// 管理 admin: users of the administrator's subtree, and the working-day calendar's status
// when the server offers it (GET /admin/calendar; a 404 hides the panel).
import { useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { UserOut } from "../api/types";
import { errorText } from "../app/format";
import { ROLE_NAMES } from "../app/roles";
import { Banner, Loading } from "../components/bits";

export function AdminPage() {
  const [users, setUsers] = useState<UserOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [calendar, setCalendar] = useState<Record<string, unknown> | null | "absent">(null);

  useEffect(() => {
    api.users().then(setUsers).catch((e) => setError(errorText(e)));
    api
      .calendar()
      .then(setCalendar)
      .catch((e) => setCalendar(e instanceof ApiError && e.status === 404 ? "absent" : { error: errorText(e) }));
  }, []);

  return (
    <section>
      <h1>管理</h1>
      {calendar && calendar !== "absent" && (
        <div className="card" data-testid="calendar-panel">
          <h2>工作日历</h2>
          <pre className="mono" style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify(calendar, null, 2)}</pre>
        </div>
      )}
      <h2>用户</h2>
      {error && <Banner kind="error">{error}</Banner>}
      {!users && !error && <Loading />}
      {users && (
        <div className="table-wrap">
          <table className="grid" data-testid="users-table">
            <thead>
              <tr><th>用户名</th><th>姓名</th><th>角色与单位</th></tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.user_id}>
                  <td className="mono">{u.user_id}</td>
                  <td>{u.display_name}</td>
                  <td>{u.grants.map((g) => `${ROLE_NAMES[g.role] ?? g.role}@${g.org_id}`).join("，")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
