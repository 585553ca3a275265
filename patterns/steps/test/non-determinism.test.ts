import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { fulfilOrder, type FulfilmentResult } from "../src";
import { sampleOrder, simulatedWorld } from "../src/demo";
import { compareHistories, operationSignatures, readGolden } from "./golden-history";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Real timers, so the workflow's wait (one second here) suspends the function and the next invocation replays.
// The handler below plays a deployment between two invocations: the first runs the recorded code, the ones
// after it run the changed code, as an execution in flight would if its alias moved under it.
// Local only (itLocal): the tests swap the code between invocations, which needs the handler in this process.
beforeAll(() => setupTestEnvironment({ skipTime: false }));
afterAll(() => teardownTestEnvironment());

type Change = (context: DurableContext, run: () => Promise<FulfilmentResult>) => Promise<FulfilmentResult>;

/** An order execution that starts on the recorded workflow and replays on `changed` after its first invocation. */
async function deployDuringExecution(changed: Change) {
  const world = simulatedWorld();
  let invocations = 0;
  const handler = withDurableExecution(async (event: unknown, context: DurableContext) => {
    invocations += 1;
    const recorded = () => fulfilOrder(event, context, world.deps, { reviewRequestDelay: { seconds: 1 } });
    return invocations === 1 ? recorded() : changed(context, recorded);
  });
  const result = await new LocalDurableTestRunner<FulfilmentResult>({ handlerFunction: handler }).run({
    payload: sampleOrder,
  });
  return { result, invocations, world };
}

/** The same change on a fresh execution, to compare its history with the golden one. */
async function historyOf(changed: Change) {
  const world = simulatedWorld();
  const handler = withDurableExecution(async (event: unknown, context: DurableContext) =>
    changed(context, () => fulfilOrder(event, context, world.deps, { reviewRequestDelay: { seconds: 1 } })),
  );
  const result = await new LocalDurableTestRunner<FulfilmentResult>({ handlerFunction: handler }).run({
    payload: sampleOrder,
  });
  return compareHistories(readGolden("fulfil-order"), operationSignatures(result));
}

const fraudCheckFirst: Change = async (context, run) => {
  await context.step("check-fraud", async () => "low-risk");
  return run();
};

const referralAfter: Change = async (context, run) => {
  const outcome = await run();
  await context.step("ask-for-referral", async () => "sent");
  return outcome;
};

itLocal(
  "the SDK fails an execution in flight with NonDeterministicExecutionError when a step is inserted before recorded ones",
  async () => {
    const { result, invocations, world } = await deployDuringExecution(fraudCheckFirst);

    expect(invocations).toBeGreaterThanOrEqual(2); // the wait suspended it and the changed code replayed it
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("NonDeterministicExecutionError");
    // The workflow's first operation is check-settings now (it was reserve-stock before the settings were checked
    // up front): the replay finds check-fraud where it recorded check-settings.
    expect(result.getError().errorMessage).toContain(
      'Operation name mismatch for step "1". Expected name "check-settings", but got "check-fraud"',
    );
    // It failed before doing anything twice: the review request never went out.
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.sent.map((message) => message.template)).toEqual(["order-shipped"]); // no review request

    // The golden history predicts it, with no deployment and no waiting: position 1 no longer matches.
    const comparison = await historyOf(fraudCheckFirst);
    expect(comparison.breaking[0]).toContain(
      'position 1: recorded Step "check-settings", now Step "check-fraud"',
    );
  },
);

itLocal(
  "an execution in flight replays fine on code that appends a step after the recorded ones",
  async () => {
    const { result, invocations } = await deployDuringExecution(referralAfter);

    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);

    // The golden history agrees: nothing breaking, one operation appended.
    const comparison = await historyOf(referralAfter);
    expect(comparison.breaking).toEqual([]);
    // Position 7: check-settings, added before reserve-stock, moved every top-level position by one.
    expect(comparison.appended.map((op) => `${op.id} ${op.name}`)).toEqual(["7 ask-for-referral"]);
  },
);

itLocal("renaming an operation between invocations fails the replay too", async () => {
  // A small handler of our own, so the rename happens inside the workflow rather than around it.
  let invocations = 0;
  const handler = withDurableExecution(async (_event: unknown, context: DurableContext) => {
    invocations += 1;
    const name = invocations === 1 ? "reserve-stock" : "reserve-inventory";
    await context.step(name, async () => "res-1");
    await context.wait("let-time-pass", { seconds: 1 });
    return "done";
  });

  const result = await new LocalDurableTestRunner<string>({ handlerFunction: handler }).run({ payload: {} });

  expect(invocations).toBe(2);
  expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
  expect(result.getError()).toMatchObject({
    errorType: "NonDeterministicExecutionError",
    errorMessage: expect.stringContaining(
      'Expected name "reserve-stock", but got "reserve-inventory"',
    ) as string,
  });
});
