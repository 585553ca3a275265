import { ExecutionStatus, OperationStatus, OperationType } from "@aws/durable-execution-sdk-js-testing";
import { OperationSubType } from "@aws/durable-execution-sdk-js";
import { defaultConfig } from "../src";
import { samplePurchase, type WorldOptions } from "../src/demo";
import { approve, setUp, testConfig, managerHasLink } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the supplier's behaviour is set in the simulated world and its calls are counted
// there; in the cloud an approval is followed by a real 4-hour lead time before the first status check.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** Runs a request the manager approves at once, so every test here is about the supplier. */
async function approvedPurchase(options: WorldOptions, maxChecks = defaultConfig.polling.maxChecks) {
  const { world, runner } = setUp(options, testConfig({ polling: { ...defaultConfig.polling, maxChecks } }));
  const askManager = runner.getOperation("ask-manager");
  const run = runner.run({ payload: samplePurchase });
  await managerHasLink(runner);
  await askManager.sendCallbackSuccess(approve("u-dana"));
  return { world, runner, result: await run };
}

describeLocal("polling the fulfilment job with waitForCondition", () => {
  it.each<[string, WorldOptions, number]>([
    ["ships on the first check", { shipsOnCheck: 1 }, 1],
    ["ships on the fourth check", { shipsOnCheck: 4 }, 4],
    ["a flaky status API counts as not finished yet", { flakyStatusChecks: 2, shipsOnCheck: 3 }, 3],
  ])("%s", async (_label, options, checks) => {
    const { world, runner, result } = await approvedPurchase(options);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "SHIPPED",
      trackingNumber: "TRK-job-PR-2042",
      statusChecks: checks,
    });
    const poll = runner.getOperation("poll-fulfilment");
    expect(poll.getType()).toBe(OperationType.STEP);
    expect(poll.getSubType()).toBe(OperationSubType.WAIT_FOR_CONDITION);
    expect(poll.getStepDetails()?.attempt).toBe(checks);
    expect(poll.getStepDetails()?.result).toMatchObject({ jobId: "job-PR-2042", state: "SHIPPED", checks });
    expect(world.callsTo("supplier.jobStatus")).toBe(checks);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
  });

  it("gives up with a clear error after maxChecks when the job never finishes", async () => {
    const { world, runner, result } = await approvedPurchase({ neverFinishes: true }, 5);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "FulfilmentNotFinishedError",
      errorMessage: expect.stringContaining(
        "Supplier job job-PR-2042 was not finished after 5 status checks (last state IN_PROGRESS); ask the supplier, then ship or cancel by hand",
      ) as string,
    });
    expect(world.callsTo("supplier.jobStatus")).toBe(5);
    const poll = runner.getOperation("poll-fulfilment");
    // The polling itself ended normally at the bound; the workflow turned "not finished" into the error.
    expect(poll.getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(poll.getStepDetails()?.attempt).toBe(5);
    expect(poll.getStepDetails()?.result).toMatchObject({ state: "IN_PROGRESS", checks: 5 });
    // The approval was recorded and the order placed exactly once before the polling gave up.
    expect(world.decisions.map((decision) => decision.decision)).toEqual(["APPROVED"]);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
  });

  it("names the last state when the status API was down for the last checks", async () => {
    const { result } = await approvedPurchase({ flakyStatusChecks: 3, neverFinishes: true }, 3);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toContain(
      "was not finished after 3 status checks (last state UNKNOWN: supplier status API timed out)",
    );
  });

  it("fails clearly when the supplier reports the job failed", async () => {
    const { world, result } = await approvedPurchase({ failsOnCheck: 2 });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "FulfilmentFailedError",
      errorMessage: "Supplier job job-PR-2042 failed: out of stock at the supplier",
    });
    expect(world.callsTo("supplier.jobStatus")).toBe(2);
  });
});
