import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, fulfilOrder, type FulfilmentResult } from "../src";
import { sampleOrder, simulatedWorld } from "../src/demo";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Real timers here, on purpose. Under skipTime the runner may finish a wait inside the same invocation,
// so replay is not guaranteed; with real timers every wait suspends the function and the next
// invocation replays. The wait is shortened to one second through the workflow's config.
// Local only (itLocal): the test wraps the handler to count its runs, which a deployed function cannot show.
beforeAll(() => setupTestEnvironment({ skipTime: false }));
afterAll(() => teardownTestEnvironment());

itLocal(
  "replays across invocations: each step body runs once, the handler body once per invocation",
  async () => {
    const world = simulatedWorld();
    let handlerBodyRuns = 0;
    const handler = withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return fulfilOrder(event, context, world.deps, { reviewRequestDelay: { seconds: 1 } });
    });
    const runner = new LocalDurableTestRunner<FulfilmentResult>({ handlerFunction: handler });

    const result = await runner.run({ payload: sampleOrder });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(2); // the wait suspended the function at least once
    expect(handlerBodyRuns).toBe(invocations);
    expect(world.callsTo("reserve")).toBe(1);
    expect(world.callsTo("charge")).toBe(1);
    expect(world.callsTo("ship")).toBe(1);
    expect(world.callsTo("email-tracking") + world.callsTo("review-request")).toBe(2); // once each
    // And the providers' own records agree: held, charged, shipped once; two messages sent.
    expect(world.records.stock).toHaveLength(1);
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.shipments).toHaveLength(1);
    expect(world.records.sent.map((message) => message.template)).toEqual([
      "order-shipped",
      "review-request",
    ]);

    // reservedUntil is computed after the wait, in the replaying invocation, from the checkpointed
    // Reservation: it only works because the class serdes rebuilt expiresAt as a Date.
    expect(result.getResult()?.reservedUntil).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  },
);

itLocal(
  "replays a charge in doubt across invocations: settled by its key once, never charged again",
  async () => {
    // The gateway charges and the reply is lost. The look-up waits (one second here) suspend the function, so
    // the later invocations replay the failed charge from its checkpoint and must not send it again.
    const world = simulatedWorld({ faults: { charge: ["lost-reply"] } });
    let handlerBodyRuns = 0;
    const handler = withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return fulfilOrder(event, context, world.deps, {
        reviewRequestDelay: { seconds: 1 },
        lookUpDelay: { seconds: 1 },
      });
    });
    const runner = new LocalDurableTestRunner<FulfilmentResult>({ handlerFunction: handler });

    const result = await runner.run({ payload: sampleOrder });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.chargeSettledBy).toBe("look-up");
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(3); // both waits suspended the function
    expect(handlerBodyRuns).toBe(invocations);
    expect(world.callsTo("charge")).toBe(1);
    // Once before charging (the gateway does not honour keys), once to settle the charge in doubt.
    expect(world.callsTo("find-charge")).toBe(2);
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.shipments).toHaveLength(1);
  },
);

itLocal(
  "a reservation that expires during the look-up's wait is not shipped: the expiry is read again before shipping",
  async () => {
    // Real time, so that the wait really passes: the hold lasts 3 s (reserving and charging stay well inside it on
    // a busy machine too), the look-up waits 6 s (it ends well after the hold).
    const world = simulatedWorld({ faults: { charge: ["lost-reply"] }, reservationTtlMs: 3000 });
    const runner = new LocalDurableTestRunner<FulfilmentResult>({
      handlerFunction: createHandler(world.deps, { lookUpDelay: { seconds: 6 } }),
    });

    const result = await runner.run({ payload: sampleOrder });

    expect(world.callsTo("find-charge")).toBe(2); // before charging, and to settle the charge in doubt
    expect(world.callsTo("ship")).toBe(0);
    expect(world.records.shipments).toEqual([]);
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain("before shipping");
    // The charge stands and is named for a person, with the reservation that expired.
    expect(result.getError().errorMessage).toContain(world.records.charges[0]!.chargeId);
  },
  15_000,
);
