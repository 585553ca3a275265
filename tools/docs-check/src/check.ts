/**
 * The docs check over a whole repository: every ```ts / ```typescript block of every Markdown file either
 *  - compiles, as a standalone module, against the dependencies and tsconfig of the package the file belongs to;
 *  - or is an excerpt (`<!-- excerpt: src/workflow.ts -->`) whose lines are the source file's own lines;
 *  - or is a deliberate wrong example (`<!-- wrong-way -->`) that fails to compile or is flagged by the durable
 *    lint rules, so that the page can never show a "wrong way" that has quietly become right.
 * Relative links must point at files that exist (and `#L12` at a line that exists).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { compileBlocks, type BlockDiagnostic, type SourceBlock } from "./compile";
import { matchExcerpt } from "./excerpt";
import { parseMarkdown, type CodeBlock, type ParsedMarkdown } from "./markdown";

export interface Failure {
  /** Path of the Markdown file, relative to the repository root. */
  file: string;
  line: number;
  column?: number;
  message: string;
}

export interface CheckReport {
  files: string[];
  compiled: number;
  excerpts: number;
  wrongWay: number;
  linksChecked: number;
  failures: Failure[];
  /** Problems that do not fail the check: links whose code moved to another line of the same file. */
  warnings: Failure[];
  /** Wrong-way blocks that compiled and could only be proven wrong by lint, when the plugin could not run. */
  notes: string[];
}

export interface CheckOptions {
  /** Markdown files to check (absolute); default: every *.md file under the root. */
  files?: string[];
  /**
   * Rewrite `[\`code\`](file#L12)` links whose code moved to exactly one other line, instead of failing on them
   * (`pnpm docs:check --fix-links`). The rewritten links are listed in the report's notes.
   */
  fixLinks?: boolean;
}

const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "cdk.out", ".turbo", "coverage", ".demo"]);

export function findMarkdownFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name));
      } else if (entry.isFile() && entry.name.endsWith(".md")) {
        found.push(path.join(dir, entry.name));
      }
    }
  };
  walk(root);
  return found.sort();
}

/** The package a Markdown file belongs to: the nearest directory above it with a package.json, up to the root. */
export function owningPackage(root: string, mdFile: string): string {
  let dir = path.dirname(mdFile);
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.resolve(dir) === path.resolve(root) || path.dirname(dir) === dir) return root;
    dir = path.dirname(dir);
  }
}

interface PendingBlock {
  file: string;
  block: CodeBlock;
  key: string;
}

export function checkRepo(root: string, options: CheckOptions = {}): CheckReport {
  root = path.resolve(root);
  const files = options.files ?? findMarkdownFiles(root);
  const report: CheckReport = {
    files: [],
    compiled: 0,
    excerpts: 0,
    wrongWay: 0,
    linksChecked: 0,
    failures: [],
    warnings: [],
    notes: [],
  };
  const fail = (file: string, line: number, message: string, column?: number) =>
    report.failures.push({
      file: rel(root, file),
      line,
      message,
      ...(column !== undefined ? { column } : {}),
    });

  // Blocks to compile, grouped by the package whose dependencies they compile against.
  const byPackage = new Map<string, PendingBlock[]>();

  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const parsed: ParsedMarkdown = parseMarkdown(text);
    report.files.push(rel(root, file));
    for (const p of parsed.problems) fail(file, p.line, p.message);
    const fixes = checkLinks(root, file, parsed, report, fail, options.fixLinks ?? false);
    if (fixes.length > 0) applyLinkFixes(root, file, fixes, report);

    let pkgDir = owningPackage(root, file);
    if (parsed.directive.package) {
      const dir = path.resolve(path.dirname(file), parsed.directive.package.dir);
      if (!fs.existsSync(path.join(dir, "package.json"))) {
        fail(
          file,
          parsed.directive.package.line,
          `docs-check package: ${parsed.directive.package.dir} has no package.json`,
        );
        continue;
      }
      pkgDir = dir;
    }

    for (const block of parsed.blocks) {
      const marker = block.marker;
      if (marker?.kind === "excerpt") {
        report.excerpts++;
        const source = path.resolve(path.dirname(file), marker.file);
        if (!fs.existsSync(source)) {
          fail(file, marker.line, `excerpt: ${marker.file} does not exist`);
          continue;
        }
        const result = matchExcerpt(block.code, fs.readFileSync(source, "utf8"));
        if (!result.ok) {
          fail(file, block.firstLine + result.blockLine - 1, `excerpt of ${marker.file} ${result.message}`);
        }
        continue;
      }
      let blockPkg = pkgDir;
      if (block.compileWith) {
        blockPkg = path.resolve(path.dirname(file), block.compileWith.dir);
        if (!fs.existsSync(path.join(blockPkg, "package.json"))) {
          fail(file, block.compileWith.line, `compile-with: ${block.compileWith.dir} has no package.json`);
          continue;
        }
      }
      if (marker?.kind === "wrong-way") report.wrongWay++;
      else report.compiled++;
      const key = `${rel(root, file)}:${block.firstLine}`;
      const list = byPackage.get(blockPkg) ?? [];
      list.push({ file, block, key });
      byPackage.set(blockPkg, list);
    }
  }

  const needLint: { pending: PendingBlock; diagnostics: BlockDiagnostic[] }[] = [];
  for (const [pkgDir, pending] of byPackage) {
    const sources: SourceBlock[] = pending.map((p) => ({ key: p.key, code: p.block.code }));
    const result = compileBlocks(pkgDir, sources);
    for (const error of result.packageErrors) {
      const first = pending[0]!;
      fail(
        first.file,
        first.block.fenceLine,
        `cannot type-check blocks against ${rel(root, pkgDir) || "the root package"}: ${error}`,
      );
    }
    for (const p of pending) {
      const diagnostics = result.byBlock.get(p.key) ?? [];
      const marker = p.block.marker;
      if (marker?.kind !== "wrong-way") {
        for (const d of diagnostics) {
          fail(p.file, p.block.firstLine + d.line - 1, `error TS${d.code}: ${d.message}`, d.column);
        }
        continue;
      }
      const expectedCodes = marker.expect.filter((e) => /^TS\d+$/.test(e));
      const expectsLintOnly = marker.expect.length > 0 && expectedCodes.length === 0;
      if (diagnostics.length > 0 && !expectsLintOnly) {
        const codes = diagnostics.map((d) => `TS${d.code}`);
        const missing = expectedCodes.filter((c) => !codes.includes(c));
        if (missing.length > 0) {
          const first = diagnostics[0]!;
          fail(
            p.file,
            p.block.firstLine + first.line - 1,
            `wrong-way block fails to compile, but not as the marker says (no ${missing.join(", ")}): ${[...new Set(codes)].join(", ")}: ${first.message}`,
            first.column,
          );
        }
        continue; // proven wrong by the compiler
      }
      if (diagnostics.length > 0) {
        const first = diagnostics[0]!;
        fail(
          p.file,
          p.block.firstLine + first.line - 1,
          `wrong-way block expects lint findings (${marker.expect.join(", ")}) but does not even compile: TS${first.code}: ${first.message}`,
          first.column,
        );
        continue;
      }
      needLint.push({ pending: p, diagnostics });
    }
  }

  if (needLint.length > 0) proveByLint(root, needLint, report, fail);
  return report;
}

/** Wrong-way blocks that compile must be reported by the durable lint rules, or they are not proven wrong. */
function proveByLint(
  root: string,
  items: { pending: PendingBlock }[],
  report: CheckReport,
  fail: (file: string, line: number, message: string, column?: number) => void,
): void {
  const run = spawnSync(process.execPath, [path.join(__dirname, "lint-worker.js")], {
    input: JSON.stringify({
      root,
      blocks: items.map((i) => ({ key: i.pending.key, code: i.pending.block.code })),
    }),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  let output: {
    available: boolean;
    reason?: string;
    results?: Record<
      string,
      { ruleId: string | null; line: number; column: number; message: string; fatal: boolean }[]
    >;
  };
  try {
    output = JSON.parse(run.stdout) as typeof output;
  } catch {
    output = { available: false, reason: `lint worker failed: ${run.stderr || run.stdout}` };
  }
  for (const { pending } of items) {
    const marker = pending.block.marker;
    if (marker?.kind !== "wrong-way") continue;
    const where = pending.block.fenceLine;
    if (!output.available || !output.results) {
      fail(
        pending.file,
        where,
        `wrong-way block compiles, and the durable lint rules could not run to prove it wrong (${output.reason ?? "unknown"})`,
      );
      continue;
    }
    const messages = output.results[pending.key] ?? [];
    const fatal = messages.find((m) => m.fatal);
    if (fatal) {
      fail(
        pending.file,
        pending.block.firstLine + fatal.line - 1,
        `wrong-way block could not be linted: ${fatal.message}`,
      );
      continue;
    }
    const expected = marker.expect.filter((e) => !/^TS\d+$/.test(e));
    const matching =
      expected.length === 0
        ? messages
        : messages.filter((m) => m.ruleId !== null && expected.includes(m.ruleId));
    if (matching.length === 0) {
      const found = messages.map((m) => m.ruleId).join(", ");
      fail(
        pending.file,
        where,
        expected.length === 0
          ? "wrong-way block compiles and no durable lint rule reports it: it is not proven wrong (make it fail, or drop the marker)"
          : `wrong-way block compiles and is not reported by ${expected.join(" or ")}${found ? ` (reported by: ${found})` : ""}`,
      );
    } else {
      report.notes.push(`${rel(root, pending.file)}:${where}: wrong-way proven by ${matching[0]!.ruleId}`);
    }
  }
}

interface LinkFix {
  line: number;
  from: string;
  to: string;
}

function checkLinks(
  root: string,
  file: string,
  parsed: ParsedMarkdown,
  report: CheckReport,
  fail: (file: string, line: number, message: string) => void,
  fix: boolean,
): LinkFix[] {
  const fixes: LinkFix[] = [];
  for (const link of parsed.links) {
    const target = link.target;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#") || target.startsWith("//")) continue;
    report.linksChecked++;
    const [rawPath, anchor] = target.split("#", 2) as [string, string | undefined];
    const decoded = decodeURIComponent(rawPath);
    const resolved = decoded.startsWith("/")
      ? path.join(root, decoded)
      : path.resolve(path.dirname(file), decoded);
    if (!fs.existsSync(resolved)) {
      fail(file, link.line, `link to ${target}: ${rel(root, resolved)} does not exist`);
      continue;
    }
    const lines = anchor ? /^L(\d+)(?:-L(\d+))?$/.exec(anchor) : null;
    if (lines && fs.statSync(resolved).isFile()) {
      const content = fs.readFileSync(resolved, "utf8");
      const count = content.split("\n").length - (content.endsWith("\n") ? 1 : 0);
      const first = Number(lines[1]);
      const last = Number(lines[2] ?? lines[1]);
      if (last > count) {
        fail(file, link.line, `link to ${target}: ${rel(root, resolved)} has only ${count} lines`);
      } else if (link.code !== undefined) {
        // [`code`](file#L12): the code must be on that line (or in that range), so line links cannot drift.
        const squash = (t: string) => t.replace(/\s+/g, " ").trim();
        const wanted = squash(link.code);
        const span = squash(
          content
            .split("\n")
            .slice(first - 1, last)
            .join(" "),
        );
        if (!span.includes(wanted)) {
          const found = content
            .split("\n")
            .map((l, i) => (squash(l).includes(wanted) ? i + 1 : 0))
            .filter((n) => n > 0);
          if (fix && found.length === 1 && !lines[2]) {
            fixes.push({ line: link.line, from: target, to: `${rawPath}#L${found[0]}` });
            continue;
          }
          if (found.length === 0) {
            fail(
              file,
              link.line,
              `link to ${target}: \`${link.code}\` is not on ${anchor}; it is not in the file any more`,
            );
          } else {
            // Moved, not gone: the link still reaches the right file. A warning, so that editing a pattern does not
            // break the build through a page its author does not own; --fix-links rewrites it.
            const fixable = found.length === 1 ? " (pnpm docs:check --fix-links rewrites the link)" : "";
            report.warnings.push({
              file: rel(root, file),
              line: link.line,
              message: `link to ${target}: \`${link.code}\` is not on ${anchor}; it is on line ${found.join(", ")} now${fixable}`,
            });
          }
        }
      }
    }
  }
  return fixes;
}

function applyLinkFixes(root: string, file: string, fixes: LinkFix[], report: CheckReport): void {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (const f of fixes) {
    lines[f.line - 1] = lines[f.line - 1]!.replace(`](${f.from})`, `](${f.to})`);
    report.notes.push(`${rel(root, file)}:${f.line}: link ${f.from} rewritten to ${f.to}`);
  }
  fs.writeFileSync(file, lines.join("\n"));
}

export function formatFailure(f: Failure): string {
  return `${f.file}:${f.line}${f.column !== undefined ? `:${f.column}` : ""} - ${f.message}`;
}

function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}
