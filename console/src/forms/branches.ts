// The forms' branches (`allOf` of `if` / `then` / `else`): a field that the branch in force
// forbids (`{"not": {}}` or `false`) is not shown and not sent — e.g. `invalid_reason` while the
// outcome is 立案登记 — and a field the branch requires is marked required. The server checks
// the same schema and stays the authority; this only spares the caseworker a 422.
import type { JsonObject } from "../api/types";

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Does `data` satisfy the `if` schema? Only what the shipped forms use: `required`, and per
 *  property `const` / `enum` (a property that is absent satisfies its subschema). */
export function holds(cond: Schema, data: JsonObject): boolean {
  const required = Array.isArray(cond.required) ? (cond.required as string[]) : [];
  if (required.some((k) => data[k] === undefined)) return false;
  const props = isObject(cond.properties) ? cond.properties : {};
  for (const [k, sub] of Object.entries(props)) {
    const v = data[k];
    if (v === undefined || !isObject(sub)) continue;
    if ("const" in sub && !equal(sub.const, v)) return false;
    if (Array.isArray(sub.enum) && !sub.enum.some((e) => equal(e, v))) return false;
  }
  return true;
}

function forbids(sub: unknown): boolean {
  return sub === false || (isObject(sub) && isObject(sub.not) && Object.keys(sub.not).length === 0);
}

export interface Branches {
  forbidden: Set<string>;
  required: Set<string>;
}

export function branches(schema: Schema, data: JsonObject): Branches {
  const forbidden = new Set<string>();
  const required = new Set<string>();
  const entries = [schema, ...(Array.isArray(schema.allOf) ? (schema.allOf as unknown[]) : [])];
  for (const entry of entries) {
    if (!isObject(entry) || !isObject(entry.if)) continue;
    const branch = holds(entry.if, data) ? entry.then : entry.else;
    if (!isObject(branch)) continue;
    for (const [k, sub] of Object.entries(isObject(branch.properties) ? branch.properties : {}))
      if (forbids(sub)) forbidden.add(k);
    for (const k of Array.isArray(branch.required) ? (branch.required as string[]) : []) required.add(k);
  }
  return { forbidden, required };
}

/** The schema rjsf renders for `data`: the branches resolved here (forbidden fields removed,
 *  required ones marked), so rjsf itself sees no `if`/`then`/`else`. */
export function resolveBranches(schema: Schema, data: JsonObject): { schema: Schema; forbidden: Set<string> } {
  const { forbidden, required } = branches(schema, data);
  const { allOf, if: _if, then: _then, else: _else, ...rest } = schema;
  void _if;
  void _then;
  void _else;
  const props = isObject(rest.properties) ? { ...rest.properties } : {};
  for (const k of forbidden) delete props[k];
  const baseRequired = Array.isArray(rest.required) ? (rest.required as string[]) : [];
  const out: Schema = {
    ...rest,
    properties: props,
    required: [...new Set([...baseRequired, ...required])].filter((k) => !forbidden.has(k)),
  };
  // Keep any allOf entry that is not a branch (none in the shipped forms today).
  const others = Array.isArray(allOf) ? allOf.filter((e) => !(isObject(e) && "if" in e)) : [];
  if (others.length > 0) out.allOf = others;
  return { schema: out, forbidden };
}

export function withoutForbidden(data: JsonObject, forbidden: Set<string>): JsonObject {
  if (![...forbidden].some((k) => k in data)) return data;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(data)) if (!forbidden.has(k)) out[k] = v;
  return out;
}

/** `ui:order` must name only shown fields (or `*`): drop the hidden ones. */
export function orderWithout(ui: Record<string, unknown>, forbidden: Set<string>): Record<string, unknown> {
  const order = ui["ui:order"];
  if (!Array.isArray(order)) return ui;
  return { ...ui, "ui:order": order.filter((k) => !forbidden.has(k as string)) };
}
