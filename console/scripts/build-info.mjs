// Writes dist/build-info.json: a SHA-256 over the sources that make the bundle, so a test
// (tests/browser/test_bundle_fresh.py) can tell when the committed bundle is stale.
// The hash: files sorted by POSIX path relative to console/, each fed as
// `path \0 content \0` into one SHA-256. Keep in step with the Python test.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

export function sourceFiles() {
  const files = walk(join(root, "src"));
  for (const name of readdirSync(root)) {
    if (
      ["index.html", "package.json", "package-lock.json", "vite.config.ts"].includes(name) ||
      /^tsconfig.*\.json$/.test(name)
    ) {
      files.push(join(root, name));
    }
  }
  return files
    .map((f) => relative(root, f).split(sep).join("/"))
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0));
}

const hash = createHash("sha256");
const files = sourceFiles();
for (const rel of files) {
  hash.update(Buffer.from(rel, "utf8"));
  hash.update(Buffer.from([0]));
  hash.update(readFileSync(join(root, rel)));
  hash.update(Buffer.from([0]));
}
const info = { sources_sha256: hash.digest("hex"), files: files.length };
writeFileSync(join(root, "dist", "build-info.json"), JSON.stringify(info, null, 2) + "\n");
console.log(`build-info: ${info.sources_sha256} over ${info.files} files`);
