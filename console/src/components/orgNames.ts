// Unit ids (qs-dc-hp-01) shown by name (和平社区第一网格): GET /orgs?id=… within the caller's
// reach; an id the caller cannot see stays an id.
import { useEffect, useState } from "react";
import { api } from "../api/client";

const cache = new Map<string, string>();

export function useOrgNames(ids: (string | null | undefined)[]): (id: string | null | undefined) => string {
  const wanted = [...new Set(ids.filter((x): x is string => !!x))].sort();
  const key = wanted.join(",");
  const [, setVersion] = useState(0);
  useEffect(() => {
    const missing = wanted.filter((id) => !cache.has(id));
    if (missing.length === 0) return;
    let live = true;
    api
      .orgs({ id: missing, scope: "county" })
      .then((orgs) => {
        for (const o of orgs) cache.set(o.id, o.name);
        for (const id of missing) if (!cache.has(id)) cache.set(id, id);
        if (live) setVersion((v) => v + 1);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return (id) => (id ? (cache.get(id) ?? id) : "—");
}
