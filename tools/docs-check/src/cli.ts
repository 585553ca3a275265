#!/usr/bin/env tsx
/**
 * docs-check [--fix-links] [root] [file.md ...]
 * Checks every TypeScript block of every Markdown file under root (default: the current directory), or only the
 * files given. Prints one line per failure (file:line:column - message) and exits 1 if there is any.
 * --fix-links rewrites [`code`](file#L12) links whose code moved to exactly one other line.
 */
import * as path from "node:path";
import { checkRepo, formatFailure } from "./check";

const argv = process.argv.slice(2);
const fixLinks = argv.includes("--fix-links");
const args = argv.filter((a) => a !== "--fix-links");
const root = path.resolve(args[0] ?? ".");
const files = args.slice(1).map((f) => path.resolve(f));
const started = Date.now();
const report = checkRepo(root, { ...(files.length > 0 ? { files } : {}), fixLinks });
for (const note of report.notes.filter((n) => n.includes(" rewritten to "))) console.log(note);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const summary =
  `${report.files.length} Markdown files: ${report.compiled} blocks compiled, ${report.excerpts} excerpts compared, ` +
  `${report.wrongWay} wrong-way blocks proven wrong, ${report.linksChecked} links followed (${seconds}s)`;

for (const warning of report.warnings) console.warn(`${formatFailure(warning)} (warning)`);
if (report.failures.length > 0) {
  for (const failure of report.failures) console.error(formatFailure(failure));
  console.error(`docs-check: ${report.failures.length} problem(s). ${summary}`);
  process.exitCode = 1;
} else {
  console.log(`docs-check: ok. ${summary}`);
}
