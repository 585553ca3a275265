import { formatDuration, redactCallbackId, renderEvent, renderSummary } from "../src/timeline";

describe("formatDuration", () => {
  it.each([
    [250, "250ms"],
    [2_000, "2s"],
    [125_000, "2m 5s"],
    [3 * 86_400_000, "3d"],
    [3 * 86_400_000 + 4 * 3_600_000 + 2_000, "3d 4h"],
    [86_400_000 + 2_000, "1d"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("renderEvent", () => {
  const start = new Date("2026-01-01T00:00:00Z");
  const at = new Date("2026-01-04T00:00:02Z");

  it("shows virtual time, nesting, kind and change", () => {
    const line = renderEvent(
      {
        kind: "operation",
        at,
        operation: { id: "1-1", name: "create-shipment", type: "STEP", subType: "Step", depth: 1 },
        change: "retrying",
        detail: "attempt 1 failed (503), next attempt in 2s",
      },
      start,
    );
    expect(line).toMatch(
      /^\+3d\s+create-shipment\s+step\s+↻ retrying: attempt 1 failed \(503\), next attempt in 2s$/,
    );
    expect(line.indexOf("create-shipment")).toBe(10 + 4); // two levels of indentation
  });

  it("names unnamed operations by their kind", () => {
    const line = renderEvent(
      {
        kind: "operation",
        at,
        operation: { id: "2", type: "CALLBACK", subType: "Callback", depth: 1 },
        change: "started",
      },
      start,
    );
    expect(line).toContain("(callback)");
  });

  it("explains suspension and replay", () => {
    expect(renderEvent({ kind: "invocation-end", at, invocation: 1, status: "PENDING" }, start)).toContain(
      "suspended",
    );
    expect(renderEvent({ kind: "invocation-start", at, invocation: 2, replaying: 6 }, start)).toContain(
      "replays 6 checkpointed operations",
    );
  });

  it("summarises a run", () => {
    expect(
      renderSummary({
        status: "SUCCEEDED",
        operations: 7,
        invocations: 3,
        retries: 1,
        virtualElapsedMs: 259_202_000,
        wallMs: 520,
      }),
    ).toBe("7 operations checkpointed · 3 invocations · 1 retry · virtual time 3d · wall time 520ms");
  });

  it("never prints a callback id whole", () => {
    expect(redactCallbackId("eyJleGVjdXRpb25JZCI6ImY4MjI0ZDI3")).toBe("eyJleGVj…");
  });
});
