// Placeholder: the process designer (definitions, viewer, modeler, diff) lives here and is
// loaded on demand by the shell (route #/designer). Owned by the designer work.
export default function DesignerApp() {
  return (
    <section>
      <h1>流程设计</h1>
      <p className="muted">流程设计器正在建设中 (the designer is being built).</p>
    </section>
  );
}
