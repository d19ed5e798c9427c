export function Placeholder({ title }: { title: string }) {
  return (
    <section>
      <h1>{title}</h1>
      <p className="muted">此页面尚未完成 (not built yet).</p>
    </section>
  );
}
