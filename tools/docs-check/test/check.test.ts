import * as fs from "node:fs";
import * as path from "node:path";
import { checkRepo, formatFailure } from "../src/check";
import { fence, libPackage, makeRepo, removeRepo } from "./fixture";

/** Checks a README made of these lines in packages/lib (the fixture package); returns the report and the lines. */
function checkReadme(lines: string[], extra: Record<string, string> = {}) {
  const root = makeRepo({ ...libPackage, "packages/lib/README.md": lines.join("\n"), ...extra });
  try {
    const report = checkRepo(root);
    return { report, messages: report.failures.map(formatFailure) };
  } finally {
    removeRepo(root);
  }
}

/** The 1-based line of the first line equal to `text`. */
const lineOf = (lines: string[], text: string) => lines.indexOf(text) + 1;

describe("checkRepo", () => {
  it("passes a block that imports from the package's node_modules and from its ./src", () => {
    const lines = [
      "# lib",
      `${fence}ts`,
      'import { wait } from "fake-sdk";',
      'import { reserve } from "./src";',
      "",
      "export async function flow(): Promise<string> {",
      '  await wait("pause", { seconds: 1 });',
      '  return reserve("o-1");',
      "}",
      fence,
    ];
    const { report, messages } = checkReadme(lines);
    expect(messages).toEqual([]);
    expect(report).toMatchObject({
      files: ["packages/lib/README.md"],
      compiled: 1,
      excerpts: 0,
      wrongWay: 0,
    });
  });

  it("fails a block that does not compile, naming the README's file and line", () => {
    const lines = [
      "# lib",
      "",
      `${fence}typescript`,
      'import { wait } from "fake-sdk";',
      "",
      "export async function pause(): Promise<void> {",
      '  await wait("pause", { second: 1 });',
      "}",
      fence,
    ];
    const { messages } = checkReadme(lines);
    const line = lineOf(lines, '  await wait("pause", { second: 1 });');
    expect(messages).toEqual([
      `packages/lib/README.md:${line}:25 - error TS2561: Object literal may only specify known properties, but 'second' does not exist in type 'Duration'. Did you mean to write 'seconds'?`,
    ]);
  });

  it("compiles strictly, and each block as its own module", () => {
    const lines = [
      `${fence}ts`,
      "const handler = (event) => event;", // implicit any: only an error under strict
      fence,
      `${fence}ts`,
      "const handler = (event: unknown) => event;", // same name in another block: no clash
      "export { handler };",
      fence,
    ];
    const { messages } = checkReadme(lines);
    expect(messages).toEqual([
      expect.stringMatching(
        /^packages\/lib\/README.md:2:\d+ - error TS7006: Parameter 'event' implicitly has an 'any' type/,
      ),
    ]);
  });

  it("passes an excerpt whose lines are in the source, and fails one that drifted", () => {
    const ok = [
      "<!-- excerpt: src/index.ts -->",
      `${fence}ts`,
      "// The step's result is checkpointed.",
      'const id = await step("reserve", async () => `r-${orderId}`);',
      "",
      "return id;",
      fence,
    ];
    expect(checkReadme(ok).messages).toEqual([]);
    expect(checkReadme(ok).report).toMatchObject({ excerpts: 1, compiled: 0 });

    const drifted = [
      "<!-- excerpt: src/index.ts -->",
      `${fence}ts`,
      "// The step's result is checkpointed.",
      'const id = await step("reserve-stock", async () => `r-${orderId}`);',
      fence,
    ];
    const { messages } = checkReadme(drifted);
    expect(messages).toEqual([
      `packages/lib/README.md:4 - excerpt of src/index.ts drifted from the source: the block has "const id = await step(\\"reserve-stock\\", async () => \`r-\${orderId}\`);" where source line 5 is "const id = await step(\\"reserve\\", async () => \`r-\${orderId}\`);" (matching since source line 4; leave lines out only at a blank line or a \`// ...\` line)`,
    ]);
  });

  it("fails an excerpt of a file that does not exist", () => {
    const { messages } = checkReadme(["<!-- excerpt: src/gone.ts -->", `${fence}ts`, "x", fence]);
    expect(messages).toEqual(["packages/lib/README.md:1 - excerpt: src/gone.ts does not exist"]);
  });

  it("accepts a wrong-way block that fails to compile with the expected error", () => {
    const lines = [
      "<!-- wrong-way: TS2322 -->",
      `${fence}ts`,
      'import { step } from "fake-sdk";',
      'export const charge = () => step("charge", async () => 1, { semantics: "AT_MOST_ONCE" });',
      fence,
    ];
    const { report, messages } = checkReadme(lines);
    expect(messages).toEqual([]);
    expect(report.wrongWay).toBe(1);
  });

  it("fails a wrong-way block that fails for another reason than the one it names", () => {
    const lines = [
      "<!-- wrong-way: TS2322 -->",
      `${fence}ts`,
      'import { stp } from "fake-sdk";',
      "void stp;",
      fence,
    ];
    const { messages } = checkReadme(lines);
    expect(messages).toEqual([
      expect.stringMatching(
        /^packages\/lib\/README.md:3:\d+ - wrong-way block fails to compile, but not as the marker says \(no TS2322\): TS2724/,
      ),
    ]);
  });

  it("fails a wrong-way block that compiles when no lint rule can prove it wrong", () => {
    const lines = [
      "Do not do this:",
      "",
      "<!-- wrong-way -->",
      `${fence}ts`,
      'import { step } from "fake-sdk";',
      'export const charge = () => step("charge", async () => Date.now());',
      fence,
    ];
    const { messages } = checkReadme(lines);
    expect(messages).toEqual([
      expect.stringMatching(
        /^packages\/lib\/README.md:4 - wrong-way block compiles, and the durable lint rules could not run to prove it wrong/,
      ),
    ]);
  });

  describe("with a durable lint plugin in tools/eslint-plugin-durable", () => {
    // A one-rule plugin (Date.now() anywhere), with the repository's own eslint and typescript-eslint.
    const repoRoot = path.resolve(__dirname, "../../..");
    const plugin = {
      "tools/eslint-plugin-durable/package.json": JSON.stringify({
        name: "p",
        type: "module",
        main: "index.js",
      }),
      "tools/eslint-plugin-durable/index.js": [
        "const noClock = { meta: { type: 'problem', schema: [] }, create(context) { return { CallExpression(node) {",
        "  if (node.callee.type === 'MemberExpression' && node.callee.object.name === 'Date' && node.callee.property.name === 'now')",
        "    context.report({ node, message: 'reads the clock outside a step' });",
        "} }; } };",
        "export default { rules: { 'no-clock': noClock } };",
      ].join("\n"),
    };
    const link = (root: string) =>
      fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"), "dir");

    function checkWithPlugin(lines: string[]) {
      const root = makeRepo({ ...libPackage, ...plugin, "packages/lib/README.md": lines.join("\n") });
      link(root);
      try {
        return checkRepo(root);
      } finally {
        removeRepo(root);
      }
    }

    it("accepts a wrong-way block that compiles but is reported by a durable rule", () => {
      const report = checkWithPlugin([
        "<!-- wrong-way: durable/no-clock -->",
        `${fence}ts`,
        "export const startedAt = Date.now();",
        fence,
      ]);
      expect(report.failures.map(formatFailure)).toEqual([]);
      expect(report.notes).toEqual(["packages/lib/README.md:2: wrong-way proven by durable/no-clock"]);
    });

    it("fails a wrong-way block that compiles and that no rule reports", () => {
      const report = checkWithPlugin([
        "<!-- wrong-way -->",
        `${fence}ts`,
        "export const startedAt = 42;",
        fence,
      ]);
      expect(report.failures.map(formatFailure)).toEqual([
        "packages/lib/README.md:2 - wrong-way block compiles and no durable lint rule reports it: it is not proven wrong (make it fail, or drop the marker)",
      ]);
    });
  });

  it("compiles a file's blocks against another package when the file says so", () => {
    const md = [
      "<!-- docs-check package: ../packages/lib -->",
      `${fence}ts`,
      'import { wait } from "fake-sdk";',
      'export const pause = () => wait("pause", { minutes: 1 });',
      fence,
    ].join("\n");
    const root = makeRepo({ ...libPackage, "docs/page.md": md });
    try {
      const report = checkRepo(root);
      expect(report.failures).toEqual([]);
      expect(report.compiled).toBe(1);
    } finally {
      removeRepo(root);
    }
  });

  it("compiles one block against another package when the block says so", () => {
    const other = {
      "packages/other/package.json": JSON.stringify({ name: "other" }),
      "packages/other/node_modules/other-sdk/package.json": JSON.stringify({
        name: "other-sdk",
        types: "index.d.ts",
      }),
      "packages/other/node_modules/other-sdk/index.d.ts": "export declare const answer: number;",
    };
    const lines = [
      "<!-- compile-with: ../other -->",
      "<!-- wrong-way: TS2322 -->",
      `${fence}ts`,
      'import { answer } from "other-sdk";',
      "export const text: string = answer;",
      fence,
      `${fence}ts`,
      'import { answer } from "other-sdk";',
      "export const n: number = answer;",
      fence,
    ];
    const { report, messages } = checkReadme(lines, other);
    expect(report).toMatchObject({ compiled: 1, wrongWay: 1 });
    // The second block has no marker: it compiles against packages/lib, where other-sdk does not exist.
    expect(messages).toEqual([
      expect.stringMatching(/^packages\/lib\/README.md:8:\d+ - error TS2307: Cannot find module 'other-sdk'/),
    ]);
  });

  it("fails links to files or lines that do not exist", () => {
    const lines = [
      "See [the source](src/index.ts#L5), [a test](test/gone.test.ts), [far](src/index.ts#L99) and [docs](https://example.com).",
    ];
    const { report, messages } = checkReadme(lines);
    expect(report.linksChecked).toBe(3);
    expect(messages).toEqual([
      "packages/lib/README.md:1 - link to test/gone.test.ts: packages/lib/test/gone.test.ts does not exist",
      "packages/lib/README.md:1 - link to src/index.ts#L99: packages/lib/src/index.ts has only 8 lines",
    ]);
  });

  it("checks that a link whose text is code points at a line holding that code", () => {
    const lines = [
      '[`step("reserve"`](src/index.ts#L5) is right, [`return id;`](src/index.ts#L4-L7) too,',
      '[`step("reserve"`](src/index.ts#L3) has drifted, and [`step("gone"`](src/index.ts#L5) is gone.',
    ];
    const { report, messages } = checkReadme(lines);
    // Gone fails; moved (the link still reaches the right file) warns.
    expect(messages).toEqual([
      'packages/lib/README.md:2 - link to src/index.ts#L5: `step("gone"` is not on L5; it is not in the file any more',
    ]);
    expect(report.warnings.map(formatFailure)).toEqual([
      'packages/lib/README.md:2 - link to src/index.ts#L3: `step("reserve"` is not on L3; it is on line 5 now (pnpm docs:check --fix-links rewrites the link)',
    ]);
  });

  it("rewrites links whose code moved, when asked to", () => {
    const root = makeRepo({
      ...libPackage,
      "packages/lib/README.md": 'See [`step("reserve"`](src/index.ts#L3).\n',
    });
    try {
      const report = checkRepo(root, { fixLinks: true });
      expect(report.failures).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report.notes).toEqual([
        "packages/lib/README.md:1: link src/index.ts#L3 rewritten to src/index.ts#L5",
      ]);
      expect(fs.readFileSync(path.join(root, "packages/lib/README.md"), "utf8")).toBe(
        'See [`step("reserve"`](src/index.ts#L5).\n',
      );
    } finally {
      removeRepo(root);
    }
  });

  it("skips node_modules and build output", () => {
    const bad = [`${fence}ts`, "const x: number = 'no';", fence].join("\n");
    const root = makeRepo({
      ...libPackage,
      "packages/lib/node_modules/fake-sdk/README.md": bad,
      "packages/lib/dist/README.md": bad,
    });
    try {
      expect(checkRepo(root)).toMatchObject({ files: [], failures: [] });
    } finally {
      removeRepo(root);
    }
  });
});
