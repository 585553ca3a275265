/**
 * `pnpm --filter @durable-cookbook/bench bench:tests [-- options]`: how long each package's jest suite takes per
 * test, in this tree and in a baseline tree, measured in the same run.
 *
 * For every package with a jest.config.js (patterns/*, tools/*, infra) it runs `npx jest --silent` in the package's
 * folder, interleaved: the baseline's package, then the current tree's, then the next package, so a machine that
 * gets busier or quieter during the run weighs on both sides alike. It prints per package the tests, the wall time,
 * the wall time per test, the ratio current/baseline per test and the `expect(` calls in the package's test files,
 * then the totals (total wall time over total tests on each side), and the load average before and after.
 *
 * Options:
 *   --baseline <dir | commit>  the tree to compare with: a checked-out, installed worktree, or a commit (a worktree
 *                              of it is made under the system's temp folder and installed, once). Default: 682a53c,
 *                              main before the test-speed work of issue 19.
 *   --cache                    let jest use its transform cache (default: --no-cache, every file compiled by
 *                              ts-jest as on a fresh CI machine; with --cache run it twice, the first run warms it)
 *   --packages a,b             only these packages (folder paths as printed, e.g. patterns/steps,infra)
 *   --reports <dir>            keep each run's jest --json report there (<side>-<package>.json), to see per test
 *                              where the time went
 *
 * tools/eslint-plugin-durable runs `node --test`, not jest: it is not measured.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";

const DEFAULT_BASELINE = "682a53c";
const SUITE_TIMEOUT_MS = 20 * 60_000;
const repoRoot = path.resolve(__dirname, "../../..");

interface Options {
  baseline: string;
  cache: boolean;
  packages?: string[];
  reports?: string;
}

export function parseOptions(argv: string[]): Options {
  const options: Options = { baseline: DEFAULT_BASELINE, cache: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === "--") continue;
    else if (arg === "--baseline") options.baseline = value();
    else if (arg === "--cache") options.cache = true;
    else if (arg === "--packages") options.packages = value().split(",").filter(Boolean);
    else if (arg === "--reports") options.reports = path.resolve(value());
    else
      throw new Error(
        `unknown option ${arg} (known: --baseline <dir|commit>, --cache, --packages a,b, --reports <dir>)`,
      );
  }
  return options;
}

function run(command: string, args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: SUITE_TIMEOUT_MS,
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** A baseline folder: the one given, or a worktree of the commit given (made and installed once). */
function baselineTree(spec: string): string {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    if (!existsSync(path.join(spec, "node_modules")))
      throw new Error(`baseline ${spec} has no node_modules: run pnpm install there first`);
    return path.resolve(spec);
  }
  const commit = run("git", ["rev-parse", "--verify", "--quiet", `${spec}^{commit}`], repoRoot);
  if (commit.status !== 0)
    throw new Error(`--baseline ${spec} is neither a folder nor a commit of ${repoRoot}`);
  const sha = commit.output.trim();
  const dir = path.join(os.tmpdir(), `durable-cookbook-baseline-${sha.slice(0, 12)}`);
  if (!existsSync(path.join(dir, "node_modules"))) {
    if (!existsSync(dir)) {
      const added = run("git", ["worktree", "add", "--detach", dir, sha], repoRoot);
      if (added.status !== 0) throw new Error(`git worktree add ${dir} ${sha} failed:\n${added.output}`);
    }
    console.log(`installing the baseline worktree ${dir} (pnpm install --frozen-lockfile)...`);
    const installed = run("pnpm", ["install", "--frozen-lockfile", "--prefer-offline"], dir);
    if (installed.status !== 0)
      throw new Error(`pnpm install in ${dir} failed:\n${installed.output.slice(-3000)}`);
  }
  return dir;
}

/** Package folders (relative to the tree's root) that have a jest config. */
function jestPackages(root: string): string[] {
  const found: string[] = [];
  for (const group of ["patterns", "tools"]) {
    const dir = path.join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) found.push(`${group}/${name}`);
  }
  found.push("infra");
  return found.filter((pkg) => existsSync(path.join(root, pkg, "jest.config.js")));
}

/** `expect(` calls written in a package's test files (a static count: a call in a loop counts once). */
export function countExpectCalls(packageDir: string): number {
  const testDir = path.join(packageDir, "test");
  if (!existsSync(testDir)) return 0;
  let count = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "__golden__") walk(full);
      } else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        count += (readFileSync(full, "utf8").match(/\bexpect\(/g) ?? []).length;
      }
    }
  };
  walk(testDir);
  return count;
}

interface FileRun {
  tests: number;
  /** From the file's start to its end, as jest reports it (no jest start-up, no other file). */
  ms: number;
}

interface SuiteRun {
  tests: number;
  failed: number;
  wallMs: number;
  expects: number;
  /** Per test file, by its path in the package. */
  files: Map<string, FileRun>;
  error?: string;
}

const realNow = performance.now.bind(performance);

function runSuite(root: string, pkg: string, cache: boolean, keepReportAs?: string): SuiteRun {
  const dir = path.join(root, pkg);
  const out = mkdtempSync(path.join(os.tmpdir(), "test-speed-"));
  const outputFile = path.join(out, "jest.json");
  const args = ["jest", "--silent", "--json", `--outputFile=${outputFile}`, ...(cache ? [] : ["--no-cache"])];
  const started = realNow();
  const result = run("npx", args, dir);
  const wallMs = realNow() - started;
  const expects = countExpectCalls(dir);
  try {
    if (!existsSync(outputFile)) {
      const error = result.status === null ? "timed out or killed" : `exit ${result.status}, no jest report`;
      return {
        tests: 0,
        failed: 0,
        wallMs,
        expects,
        files: new Map(),
        error: `${error}: ${result.output.slice(-400)}`,
      };
    }
    const report = JSON.parse(readFileSync(outputFile, "utf8")) as {
      numTotalTests: number;
      numFailedTests: number;
      numRuntimeErrorTestSuites: number;
      testResults: Array<{ name: string; startTime: number; endTime: number; assertionResults: unknown[] }>;
    };
    const failedSuites = report.numRuntimeErrorTestSuites;
    const files = new Map<string, FileRun>(
      report.testResults.map((file) => [
        path.relative(dir, file.name),
        { tests: file.assertionResults.length, ms: file.endTime - file.startTime },
      ]),
    );
    return {
      tests: report.numTotalTests,
      failed: report.numFailedTests,
      wallMs,
      expects,
      files,
      ...(failedSuites > 0 ? { error: `${failedSuites} suite(s) failed to run` } : {}),
    };
  } finally {
    if (keepReportAs && existsSync(outputFile)) copyFileSync(outputFile, keepReportAs);
    rmSync(out, { recursive: true, force: true });
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const perTest = (run: SuiteRun | undefined) => (run && run.tests > 0 ? run.wallMs / run.tests : undefined);

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

function main(): number {
  const options = parseOptions(process.argv.slice(2));
  const baseline = baselineTree(options.baseline);
  const trees = { baseline, current: repoRoot };
  const all = [...new Set([...jestPackages(baseline), ...jestPackages(repoRoot)])].sort();
  const unknown = (options.packages ?? []).filter((pkg) => !all.includes(pkg));
  if (unknown.length > 0)
    throw new Error(`--packages: no jest suite in ${unknown.join(", ")} (known: ${all.join(", ")})`);
  const packages = options.packages ?? all;

  if (options.reports) mkdirSync(options.reports, { recursive: true });
  const loadBefore = os.loadavg();
  console.log(
    `test speed: ${packages.length} packages, baseline ${baseline} vs current ${repoRoot}, ` +
      `jest ${options.cache ? "with its cache" : "--no-cache (cold: every file compiled)"}, interleaved; ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")} on ${os.cpus().length} cores`,
  );

  const results = new Map<string, { baseline?: SuiteRun; current?: SuiteRun }>();
  for (const pkg of packages) {
    const entry: { baseline?: SuiteRun; current?: SuiteRun } = {};
    for (const side of ["baseline", "current"] as const) {
      if (!existsSync(path.join(trees[side], pkg, "jest.config.js"))) continue;
      const report = options.reports && path.join(options.reports, `${side}-${pkg.replace(/\//g, "_")}.json`);
      const measured = runSuite(trees[side], pkg, options.cache, report || undefined);
      entry[side] = measured;
      console.log(
        `  ${side.padEnd(8)} ${pkg}: ${measured.tests} tests in ${seconds(measured.wallMs)}` +
          (measured.failed > 0 ? `, ${measured.failed} FAILED` : "") +
          (measured.error ? ` (${measured.error})` : "") +
          ` [load ${os.loadavg()[0]!.toFixed(2)}]`,
      );
    }
    results.set(pkg, entry);
  }

  const rows: string[][] = [];
  const total = { baseline: { tests: 0, ms: 0 }, current: { tests: 0, ms: 0 } };
  for (const [pkg, { baseline: b, current: c }] of results) {
    const bp = perTest(b);
    const cp = perTest(c);
    if (b && c && bp !== undefined && cp !== undefined) {
      total.baseline.tests += b.tests;
      total.baseline.ms += b.wallMs;
      total.current.tests += c.tests;
      total.current.ms += c.wallMs;
    }
    rows.push([
      pkg,
      b ? String(b.tests) : "-",
      c ? String(c.tests) : "-",
      b ? seconds(b.wallMs) : "-",
      c ? seconds(c.wallMs) : "-",
      bp !== undefined ? `${bp.toFixed(0)} ms` : "-",
      cp !== undefined ? `${cp.toFixed(0)} ms` : "-",
      bp !== undefined && cp !== undefined ? (cp / bp).toFixed(2) : "-",
      `${b?.expects ?? "-"} -> ${c?.expects ?? "-"}`,
      [b?.failed || b?.error ? "baseline failed" : "", c?.failed || c?.error ? "current failed" : ""]
        .filter(Boolean)
        .join(", "),
    ]);
  }
  const bTotal = total.baseline.ms / Math.max(total.baseline.tests, 1);
  const cTotal = total.current.ms / Math.max(total.current.tests, 1);
  rows.push([
    "total (packages measured on both sides)",
    String(total.baseline.tests),
    String(total.current.tests),
    seconds(total.baseline.ms),
    seconds(total.current.ms),
    `${bTotal.toFixed(0)} ms`,
    `${cTotal.toFixed(0)} ms`,
    (cTotal / bTotal).toFixed(2),
    "",
    "",
  ]);
  console.log(
    "\n" +
      formatTable(
        [
          "package",
          "tests (base)",
          "tests (now)",
          "wall (base)",
          "wall (now)",
          "per test (base)",
          "per test (now)",
          "now/base per test",
          "expect( calls",
          "",
        ],
        rows,
      ),
  );
  // The same comparison on the test files both trees have (other work adds fast unit tests, which lowers the time
  // per test of a whole suite): jest's own time per file, without its start-up.
  const sameRows: string[][] = [];
  const same = { baseline: { tests: 0, ms: 0 }, current: { tests: 0, ms: 0 } };
  for (const [pkg, { baseline: b, current: c }] of results) {
    if (!b || !c) continue;
    const common = [...b.files.keys()].filter((file) => c.files.has(file));
    const sum = (run: SuiteRun) =>
      common.reduce(
        (acc, file) => ({
          tests: acc.tests + run.files.get(file)!.tests,
          ms: acc.ms + run.files.get(file)!.ms,
        }),
        { tests: 0, ms: 0 },
      );
    const bs = sum(b);
    const cs = sum(c);
    if (bs.tests === 0 || cs.tests === 0) continue;
    same.baseline.tests += bs.tests;
    same.baseline.ms += bs.ms;
    same.current.tests += cs.tests;
    same.current.ms += cs.ms;
    const bp = bs.ms / bs.tests;
    const cp = cs.ms / cs.tests;
    sameRows.push([
      pkg,
      String(common.length),
      `${bs.tests} -> ${cs.tests}`,
      `${seconds(bs.ms)} -> ${seconds(cs.ms)}`,
      `${bp.toFixed(0)} ms -> ${cp.toFixed(0)} ms`,
      (cp / bp).toFixed(2),
    ]);
  }
  if (same.baseline.tests > 0 && same.current.tests > 0) {
    const bp = same.baseline.ms / same.baseline.tests;
    const cp = same.current.ms / same.current.tests;
    sameRows.push([
      "total",
      "",
      `${same.baseline.tests} -> ${same.current.tests}`,
      `${seconds(same.baseline.ms)} -> ${seconds(same.current.ms)}`,
      `${bp.toFixed(0)} ms -> ${cp.toFixed(0)} ms`,
      (cp / bp).toFixed(2),
    ]);
    console.log(
      "\nThe test files both trees have (jest's time per file, start-up excluded):\n" +
        formatTable(
          ["package", "files", "tests", "time in those files", "per test", "now/base per test"],
          sameRows,
        ),
    );
  }

  const loadAfter = os.loadavg();
  console.log(
    `\nload average (1, 5, 15 min): before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ` +
      `after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}; ${new Date().toISOString()}`,
  );
  const failed = [...results.values()].some(({ current }) => !current || current.failed > 0 || current.error);
  return failed ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`bench:tests: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
