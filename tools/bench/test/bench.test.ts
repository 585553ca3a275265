import type { Event } from "@aws-sdk/client-lambda";
import { checkpointedBytes, operationsWithin } from "../src/executions";
import { kb, ms, table } from "../src/markdown";
import { costPerMillionExecutions, DURABLE_PRICING } from "../src/pricing";
import { median } from "../src/stats";

// The bench's arithmetic. The measurements themselves are what `pnpm bench` prints; nothing here is timed.

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
