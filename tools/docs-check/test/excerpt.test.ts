import { matchExcerpt } from "../src/excerpt";

const source = [
  "import { step } from 'sdk';", // 1
  "", // 2
  "export async function run() {", // 3
  "  // Reserve first.", // 4
  "  const r = await step('reserve', async () => 1);", // 5
  "", // 6
  "  // Then charge.", // 7
  "  const c = await step('charge', async () => 2);", // 8
  "  return r + c;", // 9
  "}", // 10
].join("\n");

describe("matchExcerpt", () => {
  it("accepts the source's lines with other indentation and trailing spaces", () => {
    const block = [
      "export async function run() {",
      "// Reserve first.   ",
      "const r = await step('reserve', async () => 1);",
    ].join("\n");
    expect(matchExcerpt(block, source)).toEqual({ ok: true, startLine: 3 });
  });

  it("lets lines be left out at a blank line or a `// ...` line, in order", () => {
    const atBlank = [
      "// Reserve first.",
      "const r = await step('reserve', async () => 1);",
      "",
      "const c = await step('charge', async () => 2);",
    ].join("\n");
    expect(matchExcerpt(atBlank, source)).toEqual({ ok: true, startLine: 4 });
    const atEllipsis = ["export async function run() {", "  // ...", "  return r + c;", "}"].join("\n");
    expect(matchExcerpt(atEllipsis, source)).toEqual({ ok: true, startLine: 3 });
  });

  it("does not let lines be left out silently inside a run", () => {
    const block = [
      "const r = await step('reserve', async () => 1);",
      "const c = await step('charge', async () => 2);",
    ].join("\n");
    const result = matchExcerpt(block, source);
    expect(result).toMatchObject({ ok: false, blockLine: 2 });
    if (!result.ok) expect(result.message).toContain('source line 7 is "// Then charge."');
  });

  it("names the line that drifted and what the source says now", () => {
    const block = ["// Reserve first.", "const r = await step('reserve-stock', async () => 1);"].join("\n");
    const result = matchExcerpt(block, source);
    expect(result).toMatchObject({ ok: false, blockLine: 2 });
    if (!result.ok) {
      expect(result.message).toContain(`"const r = await step('reserve-stock', async () => 1);"`);
      expect(result.message).toContain("source line 5");
    }
  });

  it("requires the runs in the source's order", () => {
    const block = ["return r + c;", "", "// Reserve first."].join("\n");
    expect(matchExcerpt(block, source)).toMatchObject({ ok: false, blockLine: 3 });
  });
});
