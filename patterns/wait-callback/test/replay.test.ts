import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { handlePurchaseRequest, type PurchaseOutcome, type WorkflowConfig } from "../src";
import { samplePurchase, simulatedWorld } from "../src/demo";
import { approve } from "./support";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Real timers here, on purpose: every wait and every callback suspends the function, and the next invocation
// replays everything before it. Durations are a second or two through the config.
// Local only (itLocal): the test wraps the handler to count its runs and shortens every duration.
beforeAll(() => setupTestEnvironment({ skipTime: false }));
afterAll(() => teardownTestEnvironment());

const quick: WorkflowConfig = {
  askRounds: 3,
  manager: { timeout: { seconds: 3 }, heartbeatTimeout: { seconds: 1 } },
  director: { timeout: { seconds: 20 }, remindEvery: { seconds: 1 }, maxReminders: 2 },
  supplierLeadTime: { seconds: 1 },
  polling: { firstDelay: { seconds: 1 }, maxDelay: { seconds: 1 }, maxChecks: 5 },
};

itLocal("replays across invocations: escalation, reminders, approval and polling each act once", async () => {
  const world = simulatedWorld({ shipsOnCheck: 2 });
  let handlerBodyRuns = 0;
  const handler = withDurableExecution(async (event: unknown, context) => {
    handlerBodyRuns += 1;
    return handlePurchaseRequest(event, context, world.deps, quick);
  });
  const runner = new LocalDurableTestRunner<PurchaseOutcome>({ handlerFunction: handler });

  const run = runner.run({ payload: samplePurchase });
  // The manager stays silent; the director answers once reminded twice.
  await runner.getOperation("remind-director-2").waitForData(WaitingOperationStatus.COMPLETED);
  const director = runner.getOperation("director-approval");
  await director.waitForData(WaitingOperationStatus.STARTED);
  await director.sendCallbackSuccess(approve("u-sam"));
  const result = await run;

  expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
  expect(result.getResult()).toMatchObject({
    status: "SHIPPED",
    approvedBy: "u-sam",
    escalated: true,
    statusChecks: 2,
  });
  const invocations = result.getInvocations().length;
  // Suspended at least: on the manager's callback, two reminder waits, the director's callback, the lead time
  // and one polling delay.
  expect(invocations).toBeGreaterThanOrEqual(5);
  expect(handlerBodyRuns).toBe(invocations);
  // Each side effect happened once, however many times the handler body replayed past it.
  expect(world.callsTo("purchasing.submit")).toBe(1);
  expect(
    world.messages.map((message) => `${message.kind} ${message.to}${message.reminderNumber ?? ""}`),
  ).toEqual(["approval u-dana", "escalation u-sam", "reminder u-sam1", "reminder u-sam2"]);
  expect(world.callsTo("chat")).toBe(4);
  expect(world.callsTo("purchasing.recordDecision")).toBe(1);
  expect(world.callsTo("supplier.placeOrder")).toBe(1);
  expect(world.callsTo("supplier.jobStatus")).toBe(2);
});
