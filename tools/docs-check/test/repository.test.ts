import * as fs from "node:fs";
import * as os from "node:os";
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
  expect(report.files).toEqual(
    expect.arrayContaining(["README.md", "docs/gotchas.md", "tools/docs-check/README.md", ...readmes]),
  );
  expect(report.files.some((file) => file.includes("node_modules"))).toBe(false);
});

it("passes the gotchas page: every right form compiles, every guide form is proven wrong, every link holds", () => {
  expect(
    report.failures
      .filter((f) => f.file === "docs/gotchas.md" || f.file.startsWith("tools/docs-check/"))
      .map(formatFailure),
  ).toEqual([]);
  expect(report.wrongWay).toBeGreaterThanOrEqual(20);
});

it("lists what fails in the rest of the repository today", () => {
  const others = [
    ...report.failures.map(formatFailure),
    ...report.warnings.map((w) => `${formatFailure(w)} (warning)`),
  ];
  if (others.length > 0)
    console.warn(`docs-check: ${others.length} problem(s) that pnpm lint reports:\n${others.join("\n")}`);
  expect(report.compiled + report.excerpts + report.wrongWay).toBeGreaterThan(0);
});

describe("with the repository's durable lint rules", () => {
  const pluginExists = fs.existsSync(path.join(root, "tools/eslint-plugin-durable/index.js"));
  const steps = path.join(root, "patterns/steps");
  const page = (marker: string, body: string[]) =>
    [
      `<!-- docs-check package: ${steps} -->`,
      marker,
      "```ts",
      'import { withDurableExecution } from "@aws/durable-execution-sdk-js";',
      "",
      ...body,
      "```",
      "",
    ].join("\n");

  function checkPage(text: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-check-lint-"));
    const file = path.join(dir, "page.md");
    fs.writeFileSync(file, text);
    try {
      return checkRepo(root, { files: [file] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  (pluginExists ? it : it.skip)("proves a compiling wrong-way block wrong by the rule it names", () => {
    const result = checkPage(
      page("<!-- wrong-way: durable/no-non-deterministic-outside-step -->", [
        "export const handler = withDurableExecution(async (_event: unknown, context) => {",
        "  const id = Math.random();",
        '  return context.step("use-id", async () => id);',
        "});",
      ]),
    );
    expect(result.failures).toEqual([]);
    expect(result.notes).toEqual([
      expect.stringMatching(/page.md:3: wrong-way proven by durable\/no-non-deterministic-outside-step$/),
    ]);
  });

  (pluginExists ? it : it.skip)("fails a wrong-way block that is actually right", () => {
    const result = checkPage(
      page("<!-- wrong-way -->", [
        "export const handler = withDurableExecution(async (_event: unknown, context) => {",
        '  const id = await context.step("make-id", async () => Math.random());',
        '  return context.step("use-id", async () => id);',
        "});",
      ]),
    );
    expect(result.failures.map((f) => f.message)).toEqual([
      "wrong-way block compiles and no durable lint rule reports it: it is not proven wrong (make it fail, or drop the marker)",
    ]);
  });
});
