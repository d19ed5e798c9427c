// Hash routes (#/inbox, #/cases/BH-2026-000123, #/tasks/<id>): the server serves one
// index.html and needs no SPA fallback.
import { useEffect, useState } from "react";

export interface Route {
  /** Path segments after `#/`, decoded: `#/cases/BH-1` → ["cases", "BH-1"]. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?", 2);
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(search) };
}

export function href(...parts: (string | number)[]): string {
  return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}

export function navigate(target: string): void {
  window.location.hash = target.startsWith("#") ? target : `#${target}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
