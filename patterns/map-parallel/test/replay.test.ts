import { NestingType, withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import {
  defaultConfig,
  quoteFxRate,
  runBillingBatch,
  type BillingRunResult,
  type WorkflowConfig,
} from "../src";
import { gate, quickConfig, sampleBatch, simulatedWorld } from "../src/demo";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Real timers here, on purpose. Under skipTime the runner may finish a wait inside the same invocation, so
// replay is not guaranteed; with real timers every wait suspends the function and the next invocation
// replays. The cool-down before the retry pass is one second, set through the config.
// Local only (itLocal, describeLocal): the tests wrap the handler to count its runs and read the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: false }));
afterAll(() => teardownTestEnvironment());

const ids = Array.from({ length: 6 }, (_, i) => `INV-${1001 + i}`);

itLocal.each([NestingType.NESTED, NestingType.FLAT])(
  "%s: replays after the cool-down without redoing any finished item",
  async (nesting) => {
    // INV-1004 fails the first pass (one attempt), which puts the one-second cool-down, and so a suspension,
    // between the first pass and the retry pass.
    const world = simulatedWorld({ deliveryFailures: { "INV-1004": 1 }, documentBytes: 1024 });
    const config: WorkflowConfig = {
      ...defaultConfig,
      ...quickConfig,
      completionPolicy: { toleratedFailurePercentage: 20 }, // 1 of 6 is 17%
      deliveryAttempts: 1,
      nesting,
    };
    let handlerBodyRuns = 0;
    const handler = withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return runBillingBatch(event, context, world.deps, config);
    });
    const runner = new LocalDurableTestRunner<BillingRunResult>({ handlerFunction: handler });

    const result = await runner.run({ payload: sampleBatch(6) });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(2); // the cool-down suspended the function
    expect(handlerBodyRuns).toBe(invocations);
    expect(runner.getOperation("cool-down-before-retry").getStatus()).toBe(OperationStatus.SUCCEEDED);

    // The second invocation replayed the parallels and the first map from their checkpoints: every lookup
    // ran once, every invoice was rendered once in the first pass, and INV-1004 once more in the retry pass.
    expect([...world.lookups].sort()).toEqual(["atlas", "beacon", "cedar", "crm", "ledger", "tax-registry"]);
    expect(world.renders.filter((id) => id !== "INV-1004").sort()).toEqual(
      ids.filter((id) => id !== "INV-1004"),
    );
    expect(world.renders.filter((id) => id === "INV-1004")).toHaveLength(2);
    for (const id of ids) {
      expect(world.deliveries.filter((d) => d.invoiceId === id && d.outcome === "accepted")).toHaveLength(1);
    }
    expect(world.attemptsFor("INV-1004")).toBe(2); // refused in the first pass, accepted in the retry pass

    const outcome = result.getResult()!;
    expect(outcome.outcome).toBe("ALL_SENT");
    expect(outcome.firstPass).toMatchObject({ succeeded: 5, failed: 1 });
    expect(outcome.retryPass).toMatchObject({ succeeded: 1, failed: 0 });
    expect(outcome.sent.map((sent) => sent.invoiceId)).toEqual(ids);
  },
);

itLocal(
  "a send in doubt before the cool-down is settled after the replay, with the same key: one email",
  async () => {
    // INV-1002's first send times out after the provider emailed it. The step does not repeat it; the cool-down
    // suspends the function; the next invocation replays the first pass from its checkpoint and the retry pass
    // sends again with the same key. The provider answers with the first receipt and sends nothing.
    const world = simulatedWorld({
      deliveryFaults: { "INV-1002": ["timeout-after-send"] },
      documentBytes: 1024,
    });
    const config: WorkflowConfig = {
      ...defaultConfig,
      ...quickConfig,
      completionPolicy: { toleratedFailurePercentage: 20 },
    };
    let handlerBodyRuns = 0;
    const handler = withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return runBillingBatch(event, context, world.deps, config);
    });
    const runner = new LocalDurableTestRunner<BillingRunResult>({ handlerFunction: handler });

    const result = await runner.run({ payload: sampleBatch(6) });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(handlerBodyRuns).toBe(result.getInvocations().length);
    expect(world.deliveries.filter((d) => d.invoiceId === "INV-1002").map((d) => d.outcome)).toEqual([
      "sent-answer-lost",
      "repeated-key",
    ]);
    for (const id of ids) expect(world.emails.filter((email) => email.invoiceId === id)).toHaveLength(1);
    expect(world.emails).toHaveLength(6);
    expect(result.getResult()).toMatchObject({ outcome: "ALL_SENT", inDoubt: [], failed: [] });
  },
);

describeLocal("pitfall: an early-completing parallel leaves its slowest branch running", () => {
  // quoteFxRate completes on the first two quotes; cedar is still running (held here until the run has returned,
  // so it still is on a slow machine). Its branch can no longer checkpoint (its parent has finished), so the SDK
  // counts it as executing for the rest of the invocation, and a wait placed after it cannot suspend the
  // function: the wait is served in-process. The workflow therefore quotes last, after its only wait.
  it.each([
    ["three providers (one straggler)", 3, 1],
    ["two providers (no straggler)", 2, 2],
  ])(
    "%s: a 1 s wait after the quote runs in %i invocation(s)",
    async (_label, providers, expectedInvocations) => {
      const cedar = gate();
      const world = simulatedWorld({ holdFxQuote: { cedar: cedar.opened } });
      world.deps.fxProviders = world.deps.fxProviders.slice(0, providers);
      const handler = withDurableExecution(async (_event: unknown, context) => {
        const fx = await quoteFxRate(context, world.deps, { batchId: "b-1", currency: "GBP" });
        await context.wait("wait-after-quote", { seconds: 1 });
        return fx.outcome === "AGREED" ? fx.rate : undefined;
      });
      const runner = new LocalDurableTestRunner<number | undefined>({ handlerFunction: handler });

      const result = await runner.run({ payload: {} });
      cedar.open(); // the straggler answers now; its parent has finished, so the SDK drops its checkpoint

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toBe(1.15);
      expect(result.getInvocations()).toHaveLength(expectedInvocations);
      expect(runner.getOperation("wait-after-quote").getStatus()).toBe(OperationStatus.SUCCEEDED);
    },
  );
});
