import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { createHandler, type CheckoutOutcome } from "../src";
import { sampleOrder, simulatedWorld } from "../src/demo";
import { expectReplayCompatible } from "./golden-history";
import { testConfig, webhookNeverComes } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the histories are recorded against the simulated world with a shortened timeout.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

// Fails with an explanation when a change renames, reorders, removes or inserts an operation.
// After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
describeLocal("golden history: executions in flight still replay on this code", () => {
  it("paid by webhook: test/__golden__/paid-by-webhook.json", async () => {
    const world = simulatedWorld();
    const runner = new LocalDurableTestRunner<CheckoutOutcome>({
      handlerFunction: createHandler(world.deps, testConfig()),
    });
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle("A-1001", "succeeded")));
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "FULFILLED" });
    expectReplayCompatible("paid-by-webhook", result);
  });

  it("webhook never arrives, voided: test/__golden__/webhook-never-arrives.json", async () => {
    const world = simulatedWorld();
    const runner = new LocalDurableTestRunner<CheckoutOutcome>({
      handlerFunction: createHandler(world.deps, testConfig(webhookNeverComes)),
    });
    const result = await runner.run({ payload: sampleOrder });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
    expectReplayCompatible("webhook-never-arrives", result);
  });
});
