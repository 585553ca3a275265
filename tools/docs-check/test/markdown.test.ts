import { parseMarkdown } from "../src/markdown";
import { fence } from "./fixture";

describe("parseMarkdown", () => {
  it("finds ts and typescript blocks with the line of their first code line, and ignores other languages", () => {
    const md = [
      "# Title", // 1
      `${fence}ts`, // 2
      "const a = 1;", // 3
      fence, // 4
      `${fence}bash`, // 5
      "echo hi", // 6
      fence, // 7
      `${fence}typescript title="x"`, // 8
      "const b = 2;", // 9
      fence, // 10
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.blocks.map((b) => [b.firstLine, b.code, b.lang])).toEqual([
      [3, "const a = 1;", "ts"],
      [9, "const b = 2;", "typescript"],
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it("attaches the marker written just above a block, across blank lines", () => {
    const md = [
      "<!-- excerpt: src/workflow.ts -->",
      "",
      `${fence}ts`,
      "x",
      fence,
      "<!-- wrong-way: TS2322 durable/no-x -->",
      `${fence}ts`,
      "y",
      fence,
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.blocks.map((b) => b.marker)).toEqual([
      { kind: "excerpt", file: "src/workflow.ts", line: 1 },
      { kind: "wrong-way", expect: ["TS2322", "durable/no-x"], line: 6 },
    ]);
  });

  it("keeps the marker across other comments, such as prettier-ignore", () => {
    const md = [
      "<!-- excerpt: src/workflow.ts -->",
      "",
      "<!-- prettier-ignore -->",
      `${fence}ts`,
      "x",
      fence,
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.blocks[0]!.marker).toEqual({ kind: "excerpt", file: "src/workflow.ts", line: 1 });
    expect(parsed.problems).toEqual([]);
  });

  it("reads blocks nested in list items and longer fences, without their indentation", () => {
    const md = [
      "- step one:",
      "  ```ts",
      "  const x = 1;",
      "    const y = 2;",
      "  ```",
      "````md",
      "```ts",
      "not a block",
      "```",
      "````",
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.blocks).toHaveLength(1);
    expect(parsed.blocks[0]!.code).toBe("const x = 1;\n  const y = 2;");
  });

  it("reports markers that are misplaced or unreadable instead of ignoring them", () => {
    const md = [
      "<!-- excerpt: a.ts -->",
      "some prose",
      "<!-- wrong-way -->",
      `${fence}bash`,
      "ls",
      fence,
      "<!-- wrong-way: because -->",
      "<!-- excerpt -->",
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.problems.map((p) => p.line)).toEqual([1, 3, 7, 8]);
    expect(parsed.problems[1]!.message).toContain("```bash");
  });

  it("reads the file-level package directive and the relative links outside code", () => {
    const md = [
      "<!-- docs-check package: ../patterns/steps -->",
      "See [the workflow](src/workflow.ts#L12) and [AWS](https://aws.amazon.com).",
      `${fence}ts`,
      "// [not](a-link.ts)",
      fence,
    ].join("\n");
    const parsed = parseMarkdown(md);
    expect(parsed.directive.package).toEqual({ dir: "../patterns/steps", line: 1 });
    expect(parsed.links).toEqual([
      { line: 2, target: "src/workflow.ts#L12" },
      { line: 2, target: "https://aws.amazon.com" },
    ]);
  });
});
