import { NestingType } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, type BillingRunResult } from "../src";
import { quickConfig, sampleBatch, simulatedWorld } from "../src/demo";
import { expectReplayCompatible } from "./golden-history";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the history is recorded against the simulated world with a shortened cool-down.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

// Fails with an explanation when a change renames, reorders, removes or inserts an operation.
// After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
describeLocal("golden history: executions in flight still replay on this code", () => {
  it("a batch with a retry pass, NESTED: test/__golden__/batch-with-retry-nested.json", async () => {
    // The demo's run: 12 invoices, 4 at a time; INV-1005 fails both attempts of the first pass (1 of 12 is
    // within the 10% tolerated), so the cool-down and the retry pass follow. Items and branches finish in
    // any order; the history is by position, so the recorded list does not depend on it.
    const world = simulatedWorld({ deliveryFailures: { "INV-1005": 2 }, documentBytes: 1024 });
    const runner = new LocalDurableTestRunner<BillingRunResult>({
      handlerFunction: createHandler(world.deps, { ...quickConfig, nesting: NestingType.NESTED }),
    });

    const result = await runner.run({ payload: sampleBatch(12) });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      outcome: "ALL_SENT",
      firstPass: { succeeded: 11, failed: 1 },
      retryPass: { succeeded: 1, failed: 0 },
    });
    expectReplayCompatible("batch-with-retry-nested", result);
  });
});
