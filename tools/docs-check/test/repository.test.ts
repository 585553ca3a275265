import * as fs from "node:fs";
import * as path from "node:path";
import { checkRepo, formatFailure, type CheckReport } from "../src/check";

// The real repository: every Markdown file, against the real packages. `pnpm lint` runs the same check and fails
// on any problem; this test asserts on the pages this package owns and lists the rest, so that a README being
// written elsewhere shows up here by file and line without hiding whether the checker itself works.
const root = path.resolve(__dirname, "../../..");
let report: CheckReport;

beforeAll(() => {
  report = checkRepo(root);
});

it("checks every README of the repository and the docs", () => {
  const readmes = fs
    .readdirSync(path.join(root, "patterns"))
    .map((name) => `patterns/${name}/README.md`)
    .filter((file) => fs.existsSync(path.join(root, file)));
  expect(report.files).toEqual(expect.arrayContaining(["README.md", "docs/gotchas.md", "tools/docs-check/README.md", ...readmes]));
  expect(report.files.some((file) => file.includes("node_modules"))).toBe(false);
});

it("passes the gotchas page: every right form compiles, every guide form is proven wrong, every link holds", () => {
  expect(report.failures.filter((f) => f.file === "docs/gotchas.md" || f.file.startsWith("tools/docs-check/")).map(formatFailure)).toEqual([]);
  expect(report.wrongWay).toBeGreaterThanOrEqual(20);
});

it("lists what fails in the rest of the repository today", () => {
  const others = report.failures.map(formatFailure);
  if (others.length > 0) console.warn(`docs-check: ${others.length} problem(s) that pnpm lint reports:\n${others.join("\n")}`);
  expect(report.compiled + report.excerpts + report.wrongWay).toBeGreaterThan(0);
});
