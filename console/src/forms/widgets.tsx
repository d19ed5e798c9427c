// bihuan's own widgets, registered by the names the shipped UI schemas use.
//   org-picker   an organisation unit the caller may pick: GET /orgs?kind=…&scope=…
//   user-picker  a user holding a role within the caller's reach: GET /directory/users?role=…
// Both start empty ("请选择"): nothing is chosen for the caseworker.
import { useEffect, useState } from "react";
import type { RegistryWidgetsType, WidgetProps } from "@rjsf/utils";
import { api, ApiError } from "../api/client";
import type { DirectoryUserOut, OrgOut } from "../api/types";

const KIND_NAMES: Record<string, string> = {
  grid: "网格",
  village: "村(社区)",
  township: "乡镇(街道)",
  county: "县",
  centre: "综治中心",
  department: "部门",
};

interface Choice {
  value: string;
  label: string;
}

function useChoices(load: () => Promise<Choice[]>, key: string) {
  const [choices, setChoices] = useState<Choice[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setChoices(null);
    load()
      .then((c) => live && setChoices(c))
      .catch((e: unknown) => {
        if (!live) return;
        setError(e instanceof ApiError ? e.detail : String(e));
        setChoices([]);
      });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return { choices, error };
}

function Picker(props: WidgetProps & { choices: Choice[] | null; error: string | null }) {
  const { id, value, required, disabled, readonly, onChange, onBlur, onFocus, choices, error, rawErrors } = props;
  const current = typeof value === "string" ? value : "";
  const known = choices ?? [];
  const options = current && !known.some((c) => c.value === current) ? [{ value: current, label: current }, ...known] : known;
  return (
    <div className="picker">
      <select
        id={id}
        name={id}
        value={current}
        required={required}
        disabled={disabled || readonly || choices === null}
        aria-invalid={rawErrors && rawErrors.length > 0 ? true : undefined}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
        onBlur={(e) => onBlur(id, e.target.value)}
        onFocus={(e) => onFocus(id, e.target.value)}
      >
        <option value="">{choices === null ? "正在加载…" : "请选择"}</option>
        {options.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      {error && <div className="muted error">无法加载选项：{error}</div>}
    </div>
  );
}

function asList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string" && v) return [v];
  return [];
}

export function OrgPicker(props: WidgetProps) {
  const kinds = asList(props.options.kinds);
  const scope = typeof props.options.scope === "string" ? props.options.scope : undefined;
  const { choices, error } = useChoices(
    () =>
      api.orgs({ kind: kinds, scope }).then((orgs: OrgOut[]) =>
        orgs.map((o) => ({ value: o.id, label: `${o.name}（${KIND_NAMES[o.kind] ?? o.kind}）` })),
      ),
    `${kinds.join(",")}|${scope ?? ""}`,
  );
  return <Picker {...props} choices={choices} error={error} />;
}

export function UserPicker(props: WidgetProps) {
  const role = typeof props.options.role === "string" ? props.options.role : undefined;
  const org = typeof props.options.org === "string" ? props.options.org : undefined;
  const { choices, error } = useChoices(
    () =>
      api.directoryUsers({ role, org }).then((users: DirectoryUserOut[]) =>
        users.map((u) => ({ value: u.username, label: `${u.display_name}（${u.username}）` })),
      ),
    `${role ?? ""}|${org ?? ""}`,
  );
  return <Picker {...props} choices={choices} error={error} />;
}

export const bihuanWidgets: RegistryWidgetsType = {
  "org-picker": OrgPicker,
  "user-picker": UserPicker,
};
