// What the console shows to whom. The server stays the authority: hiding a button is not a
// permission, it only spares the user a 403. Mirrors engine/access.py.

export const ROLE_NAMES: Record<string, string> = {
  grid_worker: "网格员",
  village_cmte: "村(社区)",
  township_center: "乡镇(街道)综治中心",
  county_center: "县综治中心",
  handling_unit: "承办单位",
  case_leader: "包案领导",
  revisit_agent: "回访员",
  supervisor: "督办员",
  mediator: "调解员",
  designer: "流程设计",
  auditor: "审计",
  admin: "管理员",
};

const NON_CASE = new Set(["designer", "admin"]);
const REPORTERS = ["grid_worker", "village_cmte", "township_center", "county_center"];
const CENTRE_STAFF = ["township_center", "county_center", "supervisor"];
const AUDIT_READERS = ["auditor", "supervisor", "township_center", "county_center"];
const REPORT_READERS = [...AUDIT_READERS, "village_cmte", "grid_worker"];

export function roleSets(roles: Set<string>) {
  const any = (list: string[]) => list.some((r) => roles.has(r));
  const readsCases = [...roles].some((r) => !NON_CASE.has(r));
  const operates = [...roles].some((r) => !NON_CASE.has(r) && r !== "auditor");
  return {
    readCases: readsCases,
    work: operates,
    report: any(REPORTERS),
    centre: any(CENTRE_STAFF),
    supervise: any(CENTRE_STAFF) || roles.has("case_leader"),
    audit: any(AUDIT_READERS),
    kpis: any(AUDIT_READERS),
    reports: any(REPORT_READERS),
    attest: roles.has("grid_worker"),
    design: roles.has("designer"),
    admin: roles.has("admin"),
  };
}
