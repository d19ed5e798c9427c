// The server's 422 `errors[].path` (JSON pointers: "/result", "/parties/0/name", "" for the
// whole form) turned into rjsf's `extraErrors` so each message sits under its field.
import type { ErrorSchema } from "@rjsf/utils";
import type { FieldProblem } from "../api/types";

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

export function errorSchemaFrom(problems: FieldProblem[]): ErrorSchema {
  const root: Record<string, unknown> = {};
  for (const p of problems) {
    const tokens = p.path.split("/").slice(1).map(unescape);
    let node = root;
    for (const t of tokens) {
      node[t] = (node[t] as Record<string, unknown> | undefined) ?? {};
      node = node[t] as Record<string, unknown>;
    }
    const list = (node.__errors as string[] | undefined) ?? [];
    list.push(p.message);
    node.__errors = list;
  }
  return root as ErrorSchema;
}

/** The messages that name no field (path "" or "/"): shown above the form. */
export function formLevel(problems: FieldProblem[]): string[] {
  return problems.filter((p) => p.path === "" || p.path === "/").map((p) => p.message);
}

/** "甄别意见：必填 (required)" — each problem named by its field's title from the form. */
export function describeProblems(problems: FieldProblem[], schema: Record<string, unknown> | null | undefined): string {
  const props = (schema?.properties ?? {}) as Record<string, { title?: string }>;
  return problems
    .map((p) => {
      const [first, ...rest] = p.path.split("/").slice(1).map(unescape);
      if (!first) return p.message;
      const title = props[first]?.title ?? first;
      return `${title}${rest.length ? ` 第${Number(rest[0]) + 1 || rest[0]}项` : ""}：${p.message}`;
    })
    .join("；");
}
