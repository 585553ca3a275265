import { readdirSync } from "node:fs";
import path from "node:path";
import type { Event } from "@aws-sdk/client-lambda";
import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { countingCheckpoints, countTicks, inOneEnvironment } from "../src/environment";
import { REPROS } from "../src/repros";
import type { ScaleMeasurement, Shape } from "../src/scale";
import { growthPer10x, ratio, scaleTables, usdPerThousandItems } from "../src/scale-report";
import { checkpointedBytes, operationsWithin } from "../src/executions";
import { kb, ms, table } from "../src/markdown";
import { costPerMillionExecutions, DURABLE_PRICING } from "../src/pricing";
import { median } from "../src/stats";

// The bench's arithmetic and its one shared environment. The measurements themselves are what `pnpm bench`
// prints; nothing here is timed.

describe("median", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow("median of nothing");
  });
});

describe("history arithmetic", () => {
  // Only the fields the bench reads; the SDK's types require more of a real history.
  const history = [
    { EventType: "ExecutionStarted", Id: "exec", ExecutionStartedDetails: { Input: { Payload: '{"a":1}' } } },
    { EventType: "ContextStarted", Id: "map", Name: "send-invoices", ContextStartedDetails: {} },
    {
      EventType: "ContextStarted",
      Id: "item-1",
      ParentId: "map",
      Name: "invoice-1",
      ContextStartedDetails: {},
    },
    {
      EventType: "StepSucceeded",
      Id: "step-1",
      ParentId: "item-1",
      Name: "deliver",
      StepSucceededDetails: { Result: { Payload: '"ok"' } },
    },
    {
      EventType: "StepFailed",
      Id: "other",
      Name: "enrich",
      StepFailedDetails: { Error: { Payload: { ErrorMessage: "boom" } } },
    },
  ] as unknown as Event[];

  it("counts the bytes of every payload written: input, results, errors", () => {
    expect(checkpointedBytes(history)).toBe(
      '{"a":1}'.length + '"ok"'.length + JSON.stringify({ ErrorMessage: "boom" }).length,
    );
  });

  it("counts an operation and its descendants", () => {
    expect(operationsWithin(history, "send-invoices")).toBe(3);
    expect(operationsWithin(history, "enrich")).toBe(1);
    expect(operationsWithin(history, "missing")).toBe(0);
  });
});

describe("pricing", () => {
  it("charges operations per million and data written per GB", () => {
    expect(costPerMillionExecutions(10, 0)).toBeCloseTo(10 * DURABLE_PRICING.perMillionOperationsUsd);
    expect(costPerMillionExecutions(0, 1024 ** 3 / 1_000_000)).toBeCloseTo(DURABLE_PRICING.perGbWrittenUsd);
  });
});

describe("markdown", () => {
  it("right-aligns numeric columns", () => {
    expect(
      table(
        ["case", "ops"],
        [
          ["a", 1],
          ["b", 22],
        ],
      ),
    ).toBe("| case | ops |\n| --- | ---: |\n| a | 1 |\n| b | 22 |");
  });

  it("formats sizes and durations", () => {
    expect(kb(153_600)).toBe("150.0 KB");
    expect(ms(250.4)).toBe("250 ms");
    expect(ms(1500)).toBe("1.50 s");
  });
});

describe("scale report arithmetic", () => {
  it("prices operations and bytes per 1,000 items", () => {
    // 1,000 operations for 100 items: 10,000 per 1,000 items, at $8 per million.
    expect(usdPerThousandItems(1000, 0, 100)).toBeCloseTo(
      10_000 * (DURABLE_PRICING.perMillionOperationsUsd / 1e6),
    );
  });

  it("gives the growth per 10x and the pattern/bare ratio, a dash where a value is missing", () => {
    expect(growthPer10x([1, 10, 150])).toEqual(["10.0", "15.0"]);
    expect(growthPer10x([1, undefined, 150])).toEqual(["—", "—"]);
    expect(ratio(150, 100)).toBe("1.50");
    expect(ratio(undefined, 100)).toBe("—");
  });

  const measurement = (
    shape: Shape,
    size: number,
    mapOperations: number,
    skipped?: string,
  ): ScaleMeasurement => ({
    mode: "real",
    shape,
    code: "pattern",
    size,
    status: skipped ? "SKIPPED" : "SUCCEEDED",
    operations: mapOperations + 14,
    mapOperations,
    bytesCheckpointed: 1000,
    checkpoints: 10,
    invocations: 1,
    wallMs: 100,
    cpuMs: 50,
    runs: 1,
    ...(skipped ? { skipped } : {}),
  });

  it("holds the chunked map to a tenth of the per-item map's operations per invoice, at the largest size both ran", () => {
    const runs = [
      measurement("per-item", 1000, 3001),
      measurement("chunked", 1000, 21),
      measurement("per-item", 10_000, 0, "skipped: projected 300 s"),
      measurement("chunked", 10_000, 201),
    ];
    const { budget, markdown } = scaleTables(runs, false);
    expect(budget.met).toBe(true);
    expect(budget.measured).toMatch(/^1000 invoices: 0\.021 vs 3\.001/);
    expect(markdown).toContain("| 10000 | per-item | skipped |");
    expect(markdown).toContain("Skipped: per-item pattern 10000 (real): skipped: projected 300 s.");

    const tooMany = scaleTables(
      [measurement("per-item", 1000, 3001), measurement("chunked", 1000, 400)],
      false,
    );
    expect(tooMany.budget.met).toBe(false);
    expect(scaleTables([measurement("chunked", 1000, 21)], false).budget).toMatchObject({
      met: false,
      measured: "not measured",
    });
  });
});

describe("one environment for the bench", () => {
  const twoSteps = withDurableExecution(async (_event: unknown, context: DurableContext) => {
    await context.step("one", async () => 1);
    return context.step("two", async () => 2);
  });

  it("makes the runner's own setup and teardown no-ops inside it, restores them after, and counts", async () => {
    const { setupTestEnvironment, teardownTestEnvironment } = LocalDurableTestRunner;
    let counted: ReturnType<typeof countTicks>;
    const checkpoints = await inOneEnvironment(true, async () => {
      expect(LocalDurableTestRunner.setupTestEnvironment).not.toBe(setupTestEnvironment);
      // What runLocally does per run: here it starts no second worker and installs no second clock.
      await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
      counted = countTicks();
      expect(counted).toBeDefined();
      const handler = countingCheckpoints(twoSteps);
      const result = await new LocalDurableTestRunner({ handlerFunction: handler.handler }).run({
        payload: {},
      });
      await LocalDurableTestRunner.teardownTestEnvironment();
      expect(result.getResult()).toBe(2);
      expect(counted!().ticks).toBeGreaterThan(0);
      return handler.checkpoints();
    });
    // Each step checkpoints its START and SUCCEED; the SDK batches what it can, so at least one call each.
    expect(checkpoints).toBeGreaterThanOrEqual(2);
    expect(LocalDurableTestRunner.setupTestEnvironment).toBe(setupTestEnvironment);
    expect(LocalDurableTestRunner.teardownTestEnvironment).toBe(teardownTestEnvironment);
  });

  it("has no fake clock to count with real timers", async () => {
    await inOneEnvironment(false, async () => {
      expect(countTicks()).toBeUndefined();
    });
  });
});

describe("the reproductions of the packages' own limits", () => {
  it("each has its script in repro/, says where in the package it comes from, and prints what it measured", () => {
    expect(REPROS.map((repro) => repro.file).sort()).toEqual(
      readdirSync(path.join(__dirname, "..", "repro"))
        .filter((file) => file.endsWith(".ts"))
        .sort(),
    );
    for (const repro of REPROS) expect(repro.where).toMatch(/dist-cjs\/index\.js/);
    const tick = REPROS.find((repro) => repro.file === "fake-clock-tick.ts")!;
    expect(
      tick.describe({
        steps: 50,
        skipTimeMsPerStep: 20.5,
        realTimersMsPerStep: 1.5,
        tickMode: { delta: 20 } as never,
      }),
    ).toBe(
      '50 sequential steps: 20.5 ms per step under skipTime (tick {"delta":20}), 1.5 ms with real timers',
    );
    const leak = REPROS.find((repro) => repro.file === "worker-leak.ts")!;
    expect(
      leak.describe({
        cycles: 3,
        threadsBefore: 12,
        threadsAfter: [13, 14, 15] as never,
        threadsPerCycle: 1,
        rssMbPerCycle: 32.5,
      }),
    ).toBe("3 cycles: threads 12 -> 13, 14, 15; +1 thread and +32.5 MB RSS per cycle");
  });
});
