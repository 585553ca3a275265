import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { createHandler, type PurchaseOutcome, type WorkflowConfig } from "../src";
import { samplePurchase, simulatedWorld } from "../src/demo";
import { expectReplayCompatible } from "./golden-history";
import { approve, managerGoesQuiet, testConfig, managerHasLink } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the histories are recorded against the simulated world with shortened timeouts.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

function setUp(config: WorkflowConfig) {
  const runner = new LocalDurableTestRunner<PurchaseOutcome>({
    handlerFunction: createHandler(simulatedWorld().deps, config),
  });
  return runner;
}

// Fails with an explanation when a change renames, reorders, removes or inserts an operation.
// After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
describeLocal("golden history: executions in flight still replay on this code", () => {
  it("approved by the manager: test/__golden__/approved-by-manager.json", async () => {
    const runner = setUp(testConfig());
    const askManager = runner.getOperation("ask-manager");
    const run = runner.run({ payload: samplePurchase });
    // The function is suspended on the manager's callback until this answer arrives.
    await managerHasLink(runner);
    await askManager.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana", escalated: false });
    expectReplayCompatible("approved-by-manager", result);
  });

  it("a forged approval refused, the manager asked again, approved: test/__golden__/forged-answer-refused.json", async () => {
    const runner = setUp(testConfig());
    const run = runner.run({ payload: samplePurchase });
    // The requester answers the manager's first link; the manager decides with the second.
    await managerHasLink(runner);
    await runner.getOperation("ask-manager").sendCallbackSuccess(approve("u-ada"));
    const again = runner.getOperation("ask-manager-round-2");
    await managerHasLink(runner, 2);
    await again.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana", escalated: false });
    expectReplayCompatible("forged-answer-refused", result);
  });

  it("escalated to the director, reminded twice, approved: test/__golden__/escalated-to-director.json", async () => {
    const runner = setUp(
      testConfig({
        ...managerGoesQuiet,
        director: { timeout: { seconds: 60 }, remindEvery: { days: 1 }, maxReminders: 2 },
      }),
    );
    const run = runner.run({ payload: samplePurchase });
    // The director answers only after both reminders, so every turn of the reminder loop is in the history.
    await runner.getOperation("remind-director-2").waitForData(WaitingOperationStatus.COMPLETED);
    const director = runner.getOperation("director-approval");
    await director.waitForData(WaitingOperationStatus.STARTED);
    await director.sendCallbackSuccess(approve("u-sam"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-sam", escalated: true });
    expectReplayCompatible("escalated-to-director", result);
  });
});
