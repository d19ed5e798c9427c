// A user chooser for 转派: users holding the task's role in its unit (GET /directory/users);
// falls back to typing the user name when the directory cannot answer.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { DirectoryUserOut } from "../api/types";

export function UserChooser(props: {
  label: string;
  role: string | null;
  org: string | null;
  value: string;
  onChange: (v: string) => void;
}) {
  const [users, setUsers] = useState<DirectoryUserOut[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    api
      .directoryUsers({ role: props.role, org: props.org })
      .then(setUsers)
      .catch(() => setFailed(true));
  }, [props.role, props.org]);
  return (
    <label>
      {props.label}
      {failed || (users && users.length === 0) ? (
        <input name="assignee" value={props.value} placeholder="用户名" onChange={(e) => props.onChange(e.target.value.trim())} />
      ) : (
        <select name="assignee" value={props.value} onChange={(e) => props.onChange(e.target.value)}>
          <option value="">{users ? "请选择" : "正在加载…"}</option>
          {(users ?? []).map((u) => (
            <option key={u.username} value={u.username}>
              {u.display_name}（{u.username}）
            </option>
          ))}
        </select>
      )}
    </label>
  );
}
