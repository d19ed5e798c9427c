// The shell: sign-in gate, navigation by role, and the hash-route switch. Heavy screens
// (diagrams, the designer) are lazy chunks so the caseworker's first load stays light.
import { lazy, Suspense, type ReactNode } from "react";
import { useSession } from "./session";
import { href, useRoute, type Route } from "./router";
import { LoginPage } from "../pages/Login";
import { MePage } from "../pages/Me";
import { Placeholder } from "../pages/Placeholder";
import { InboxPage } from "../pages/Inbox";
import { TaskPage } from "../pages/Task";
import { ReportPage } from "../pages/Report";
import { CasesPage } from "../pages/Cases";
import { CasePage } from "../pages/Case";
import { SupervisionPage } from "../pages/Supervision";
import { OrdersPage } from "../pages/Orders";
import { DashboardPage } from "../pages/Dashboard";
import { PeriodicPage } from "../pages/Periodic";
import { AuditPage } from "../pages/Audit";
import { AdminPage } from "../pages/Admin";
import { DevFormsPage } from "../pages/DevForms";

const DesignerApp = lazy(() => import("../designer/index"));

interface NavItem {
  path: string;
  label: string;
  show: boolean;
}

function Nav({ route }: { route: Route }) {
  const { can, me, signOut } = useSession();
  const items: NavItem[] = [
    { path: "inbox", label: "待办", show: can.work },
    { path: "report", label: "上报", show: can.report },
    { path: "cases", label: "案件", show: can.readCases },
    { path: "supervision", label: "督办", show: can.supervise },
    { path: "orders", label: "督办单", show: can.work },
    { path: "dashboard", label: "统计", show: can.kpis },
    { path: "reports", label: "报表", show: can.reports },
    { path: "audit", label: "审计", show: can.audit },
    { path: "designer", label: "流程", show: true },
    { path: "admin", label: "管理", show: can.admin },
  ];
  const current = route.parts[0] ?? "";
  return (
    <header className="topbar">
      <a className="brand" href={href(defaultPath(can))}>
        闭环
      </a>
      <nav aria-label="主导航">
        {items
          .filter((i) => i.show)
          .map((i) => (
            <a key={i.path} href={href(i.path)} className={current === i.path ? "active" : undefined}>
              {i.label}
            </a>
          ))}
      </nav>
      <div className="who">
        <a href={href("me")} className={current === "me" ? "active" : undefined} data-testid="whoami">
          {me?.display_name ?? me?.user_id}
        </a>
        <button type="button" className="link" onClick={signOut}>
          退出
        </button>
      </div>
    </header>
  );
}

export function defaultPath(can: ReturnType<typeof useSession>["can"]): string {
  if (can.work) return "inbox";
  if (can.audit) return "audit";
  if (can.design) return "designer";
  if (can.admin) return "admin";
  return "me";
}

function Screen({ route }: { route: Route }): ReactNode {
  const { can } = useSession();
  const [first, second] = route.parts;
  switch (first ?? defaultPath(can)) {
    case "me":
      return <MePage />;
    case "inbox":
      return <InboxPage route={route} />;
    case "tasks":
      return second ? <TaskPage key={second} id={second} /> : <InboxPage route={route} />;
    case "report":
      return <ReportPage />;
    case "cases":
      return second ? <CasePage key={second} caseNo={second} /> : <CasesPage />;
    case "supervision":
      return <SupervisionPage />;
    case "orders":
      return <OrdersPage />;
    case "dashboard":
      return <DashboardPage />;
    case "reports":
      return <PeriodicPage route={route} />;
    case "audit":
      return <AuditPage />;
    case "admin":
      return <AdminPage />;
    case "designer":
      return <DesignerApp />;
    case "dev":
      return second === "forms" ? <DevFormsPage /> : <Placeholder title="dev" />;
    default:
      return <Placeholder title={`${first ?? ""} ${second ?? ""}`} />;
  }
}

export function App() {
  const session = useSession();
  const route = useRoute();
  if (session.loading) return <div className="loading">正在加载…</div>;
  if (!session.me) return <LoginPage />;
  return (
    <div className="shell">
      <Nav route={route} />
      <main>
        <Suspense fallback={<div className="loading">正在加载…</div>}>
          <Screen route={route} />
        </Suspense>
      </main>
    </div>
  );
}
