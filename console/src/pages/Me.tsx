import { useSession } from "../app/session";
import { ROLE_NAMES } from "../app/roles";
import { useOrgNames } from "../components/orgNames";

export function MePage() {
  const { me, signOut } = useSession();
  const orgName = useOrgNames((me?.grants ?? []).map((g) => g.org_id));
  if (!me) return null;
  return (
    <section>
      <h1>我的信息</h1>
      <dl className="fields">
        <dt>用户名</dt>
        <dd data-testid="me-user">{me.user_id}</dd>
        <dt>姓名</dt>
        <dd>{me.display_name}</dd>
      </dl>
      <h2>角色与单位 (roles and units)</h2>
      <table className="grid">
        <thead>
          <tr>
            <th>角色</th>
            <th>单位</th>
            <th>单位路径</th>
          </tr>
        </thead>
        <tbody>
          {me.grants.map((g) => (
            <tr key={`${g.role}@${g.org_id}`}>
              <td>
                {ROLE_NAMES[g.role] ?? g.role} <span className="muted">{g.role}</span>
              </td>
              <td>
                {orgName(g.org_id)} <span className="muted mono">{g.org_id}</span>
              </td>
              <td className="mono">{g.org_path}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button type="button" onClick={signOut}>
          退出登录
        </button>
      </p>
    </section>
  );
}
