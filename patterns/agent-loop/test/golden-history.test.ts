import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { createHandler, defaultConfig, type AgentResult } from "../src";
import { sampleRequest, simulatedDeps } from "../src/demo";
import { expectReplayCompatible } from "./golden-history";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the history is recorded with the scripted model and the simulated back office.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

// Fails with an explanation when a change renames, reorders, removes or inserts an operation.
// After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
describeLocal("golden history: executions in flight still replay on this code", () => {
  it("a refund approved by a person: test/__golden__/refund-approved.json", async () => {
    const runner = new LocalDurableTestRunner<AgentResult>({
      // The test answers the approval at once; the timeout only bounds a hang.
      handlerFunction: createHandler(simulatedDeps().deps, {
        ...defaultConfig,
        approvalTimeout: { seconds: 30 },
        refundApprover: "dana",
      }),
    });
    const approval = runner.getOperation("approve-refund-order-1042");
    const run = runner.run({ payload: sampleRequest });
    // The function is suspended on the approval callback until this answer arrives.
    // The approval request is sent by its own step, after the callback exists.
    await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
    await approval.sendCallbackSuccess(JSON.stringify({ approved: true, approver: "dana" }));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "ANSWERED", turns: 4 });
    expectReplayCompatible("refund-approved", result);
  });
});
