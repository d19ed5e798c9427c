import { href } from "../app/router";

/** An address the console does not know (an old bookmark, a typo). */
export function Placeholder({ title }: { title: string }) {
  return (
    <section>
      <h1>页面不存在</h1>
      <p className="muted">没有 “{title.trim()}” 这个页面 (no such page).</p>
      <p>
        <a href={href("")}>返回首页</a>
      </p>
    </section>
  );
}
