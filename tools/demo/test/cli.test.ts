import { main, parseArgs } from "../src/cli";
import { listPatterns, loadScenario, UsageError } from "../src/scenario";

async function runDemo(...argv: string[]) {
  const lines: string[] = [];
  const code = await main(argv, (line) => lines.push(line));
  return { code, output: lines.join("\n") };
}

describe("arguments", () => {
  it("takes a pattern and an optional event file", () => {
    expect(parseArgs(["steps"])).toEqual({ pattern: "steps" });
    expect(parseArgs(["steps", "--event", "e.json"])).toEqual({ pattern: "steps", eventFile: "e.json" });
    expect(parseArgs(["--event=e.json", "steps"])).toEqual({ pattern: "steps", eventFile: "e.json" });
  });

  it.each([[[]], [["a", "b"]], [["steps", "--event"]], [["steps", "--cloudy"]]])("rejects %j", (argv) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
  });
});

describe("usage errors exit 2 and list the patterns", () => {
  it("for an unknown pattern", async () => {
    const { code, output } = await runDemo("nosuch");
    expect(code).toBe(2);
    expect(output).toContain('Unknown pattern "nosuch"');
    expect(output).toContain(`Patterns: ${listPatterns().join(", ")}`);
    expect(listPatterns()).toContain("steps");
  });

  it("for an unreadable or malformed event file", async () => {
    expect((await runDemo("steps", "--event", "/nonexistent/event.json")).code).toBe(2);
    const malformed = await runDemo("steps", "--event", __filename);
    expect(malformed.code).toBe(2);
    expect(malformed.output).toContain("is not valid JSON");
  });
});

// Every pattern's demo is part of the cookbook's promise: it must load, run and succeed.
describe.each(listPatterns())("pnpm demo %s", (pattern) => {
  it("prints a timeline and ends as the demo intends", async () => {
    const { expectedStatus = "SUCCEEDED" } = await loadScenario(pattern);
    const { code, output } = await runDemo(pattern);
    expect(output).toMatch(/▶ invocation 1/);
    expect(output).toMatch(expectedStatus === "SUCCEEDED" ? /✔ execution SUCCEEDED/ : /✘ execution FAILED/);
    expect(output).toMatch(/Summary: \d+ operations checkpointed · \d+ invocations?/);
    expect(code).toBe(expectedStatus === "SUCCEEDED" ? 0 : 1);
  });
});

it("exits 1 and shows the error when the execution fails", async () => {
  const { code, output } = await runDemo("steps", "--event", `${__dirname}/fixtures/bad-order.json`);
  expect(code).toBe(1);
  expect(output).toContain(
    "✘ execution FAILED: InvalidOrderError: Invalid order: orderId must be 3-64 letters",
  );
});
