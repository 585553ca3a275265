import { withDurableExecution, type DurableLogger } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { createHandler, fulfilOrder, type FulfilmentResult } from "../src";
import { sampleOrder, simulatedWorld, type Fault, type WorldOptions } from "../src/demo";
import { crashAfter } from "./crash";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The README's outcome table, row by row: each call × (done, not done, in doubt, crash before the checkpoint).
// The providers keep their own records (stock held or released, charges, shipments, messages sent), and every
// test asserts on those records, not only on what the workflow says about itself.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** Runs one order against a simulated world, optionally through a handler that crashes after an operation. */
async function run(options: WorldOptions = {}, crashOn?: string) {
  const world = simulatedWorld(options);
  const warnings: unknown[][] = [];
  let bodyRuns = 0;
  const handler = withDurableExecution(async (event: unknown, context) => {
    bodyRuns += 1;
    context.configureLogger({ customLogger: recordingLogger(warnings) });
    return fulfilOrder(event, context, world.deps);
  });
  const crash = crashOn ? crashAfter(handler, crashOn) : undefined;
  const runner = new LocalDurableTestRunner<FulfilmentResult>({
    handlerFunction: crash?.handler ?? handler,
  });
  const result = await runner.run({ payload: sampleOrder });
  return { world, runner, result, warnings, crashes: crash?.crashes() ?? 0, bodyRuns };
}

function recordingLogger(warnings: unknown[][]): DurableLogger {
  const quiet = () => undefined;
  return {
    info: quiet,
    debug: quiet,
    error: quiet,
    warn: (...params: unknown[]) => void warnings.push(params),
  };
}

// The hold on stock is the execution's: its key carries the order id and a tag of the execution.
const holdKey = expect.stringMatching(/^order-1042:reserve:[0-9a-f]{12}$/) as string;
const expiresAt = expect.any(Date) as Date;
const released = [
  { reservationKey: holdKey, reservationId: "res-order-1042", status: "released", expiresAt },
];
const held = [{ reservationKey: holdKey, reservationId: "res-order-1042", status: "held", expiresAt }];

describeLocal("every call done", () => {
  it("done: each provider acted once, and the order is fulfilled", async () => {
    const { world, result } = await run();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.records.stock).toEqual(held);
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.shipments).toHaveLength(1);
    expect(world.records.sent.map((message) => message.template)).toEqual([
      "order-shipped",
      "review-request",
    ]);
  });
});

describeLocal("reserve-stock", () => {
  it("not done: a refusal fails the order at once, with nothing held and nothing charged", async () => {
    const { world, result } = await run({ faults: { reserve: ["refused"] } });
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(world.records.stock).toEqual([]);
    expect(world.records.charges).toEqual([]);
    expect(world.callsTo("release")).toBe(0);
  });

  it("in doubt: the reply is lost, and the retry with the same key gets the first reservation", async () => {
    const { world, runner, result } = await run({ faults: { reserve: ["lost-reply"] } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(runner.getOperation("reserve-stock").getStepDetails()?.attempt).toBe(2);
    expect(world.callsTo("reserve")).toBe(2);
    expect(world.records.stock).toEqual(held); // held once, not twice
  });

  it("in doubt until retries run out: the stock is released by its key and the order fails, nothing charged", async () => {
    const { world, result } = await run({ always: { reserve: "lost-reply" } });
    expect(result.getError()).toMatchObject({
      errorType: "OrderFailedError",
      errorMessage: expect.stringContaining(
        "failed at reserve-stock, in doubt: inventory did not answer in time",
      ) as string,
    });
    expect(result.getError().errorMessage).toContain("released by that key; nothing was charged");
    expect(world.records.stock).toEqual(released);
    expect(world.records.charges).toEqual([]);
  });

  it("in doubt, and the release fails too: the error names the key to release by hand", async () => {
    const { world, result } = await run({ always: { reserve: "lost-reply", release: "unavailable" } });
    expect(result.getError().errorType).toBe("OrderInDoubtError");
    expect(result.getError().errorMessage).toMatch(
      /^Stock for order order-1042 is in doubt under key order-1042:reserve:[0-9a-f]{12}: /,
    );
    expect(result.getError().errorMessage).toContain("release it by hand. Nothing was charged.");
    expect(world.records.stock).toEqual(held);
    expect(world.records.charges).toEqual([]);
  });

  it("crash before the checkpoint: the step runs again with the same key, and the stock is held once", async () => {
    const { world, result, crashes } = await run({}, "reserve-stock");
    expect(crashes).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo("reserve")).toBe(2);
    expect(world.records.stock).toEqual(held);
    expect(world.records.charges).toHaveLength(1);
  });
});

describeLocal("charge-payment", () => {
  it("not done: a declined card is not retried; the stock is released and the order fails", async () => {
    const { world, runner, result } = await run({ faults: { charge: ["refused"] } });
    expect(result.getError()).toMatchObject({
      errorType: "OrderFailedError",
      errorMessage:
        "Order order-1042 failed at charge-payment: payments answered 402 (payment declined: nothing charged). " +
        "Nothing was charged; reservation res-order-1042 was released.",
    });
    expect(runner.getOperation("charge-payment").getStepDetails()?.attempt).toBe(1);
    expect(world.records.charges).toEqual([]);
    expect(world.records.stock).toEqual(released);
    expect(world.records.shipments).toEqual([]);
  });

  it("in doubt (reply lost): never sent again; found by its key, and the order goes on", async () => {
    const { world, runner, result } = await run({ faults: { charge: ["lost-reply"] } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ chargeId: "ch-order-1042", chargeSettledBy: "look-up" });
    expect(world.callsTo("charge")).toBe(1);
    expect(world.records.charges).toHaveLength(1); // this gateway ignores keys: a resend would have charged twice
    expect(runner.getOperation("wait-before-find-charge").getWaitDetails()?.waitSeconds).toBe(60);
    expect(runner.getOperation("find-charge").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(world.records.shipments).toHaveLength(1);
  });

  it("in doubt (a 503 from a gateway that does not say it did nothing): settled by the look-up", async () => {
    const { world, result } = await run({ faults: { charge: ["unavailable"] } });
    // Nothing was charged, the look-up says so, and the order fails like a decline rather than guess.
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain(
      "the gateway holds no charge under key order-1042:charge",
    );
    expect(world.callsTo("charge")).toBe(1);
    expect(world.records.charges).toEqual([]);
    expect(world.records.stock).toEqual(released);
  });

  it("in doubt (request lost): the look-up finds no charge, so nothing was charged; the stock is released", async () => {
    const { world, result } = await run({ faults: { charge: ["lost-request"] } });
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain(
      "Nothing was charged; reservation res-order-1042 was released",
    );
    expect(world.records.charges).toEqual([]);
    expect(world.records.stock).toEqual(released);
  });

  it("in doubt, and the look-up cannot settle it: the order fails naming the charge's key; the stock is kept", async () => {
    const { world, result } = await run({
      // The first look-up, before charging, answers; every look-up after the charge in doubt fails.
      faults: { charge: ["lost-reply"], "find-charge": ["ok", ...Array<Fault>(4).fill("unavailable")] },
    });
    expect(result.getError().errorType).toBe("OrderInDoubtError");
    expect(result.getError().errorMessage).toMatch(
      /^The charge for order order-1042 is in doubt \(idempotency key order-1042:charge, 4900 EUR\): payments did not answer in time .*; looking it up by its key failed: payments answered 503/,
    );
    expect(result.getError().errorMessage).toContain(
      "Reservation res-order-1042 is kept, not released, until",
    );
    expect(world.callsTo("find-charge")).toBe(1 + 4);
    expect(world.records.charges).toHaveLength(1); // it did charge: a person settles it by the key
    expect(world.records.stock).toEqual(held);
    expect(world.records.shipments).toEqual([]);
  });

  it("in doubt, and the gateway holds a charge for another amount under the key: not accepted", async () => {
    // The charge is lost in flight; the look-up after it answers with a stale charge under the key.
    const world = simulatedWorld({
      faults: { charge: ["lost-request"] },
      answers: {
        "find-charge": (real) => (real === null && world.callsTo("charge") > 0 ? stale : real),
      },
    });
    const stale = { chargeId: "ch-old", amountCents: 100, currency: "USD" };
    const result = await new LocalDurableTestRunner<FulfilmentResult>({
      handlerFunction: createHandler(world.deps),
    }).run({ payload: sampleOrder });
    expect(result.getError().errorType).toBe("OrderInDoubtError");
    expect(result.getError().errorMessage).toContain("the gateway holds ch-old under this key for 100 USD");
    expect(world.records.stock).toEqual(held);
    expect(world.records.shipments).toEqual([]);
  });

  it("crash before the checkpoint: the replay sees the attempt interrupted and looks the charge up", async () => {
    const { world, runner, result, crashes, bodyRuns } = await run({}, "charge-payment");
    expect(crashes).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.chargeSettledBy).toBe("look-up");
    expect(runner.getOperation("charge-payment").getStepDetails()?.error?.errorType).toBe(
      "StepInterruptedError",
    );
    expect(world.callsTo("charge")).toBe(1);
    // The dead sandbox and the one after it: the handler body ran again, replaying from the checkpoints. (How
    // many invocations the runner counts depends on whether the skipped look-up wait ends inside one.)
    expect(bodyRuns).toBeGreaterThanOrEqual(2);
    expect(world.records.charges).toHaveLength(1);
  });
});

describeLocal("create-shipment", () => {
  it("not done: a refused shipment fails the order, naming the charge and the stock it leaves", async () => {
    const { world, result } = await run({ faults: { ship: ["refused"] } });
    expect(result.getError()).toMatchObject({ errorType: "OrderFailedError" });
    expect(result.getError().errorMessage).toContain(
      "failed at create-shipment: shipping answered 422 (unprocessable: refused before acting). " +
        "Charge ch-order-1042 (4900 EUR) stands and reservation res-order-1042 is held until",
    );
    expect(world.callsTo("ship")).toBe(1);
    expect(world.records.shipments).toEqual([]);
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.sent).toEqual([]);
  });

  it("in doubt: the reply is lost, and the retry with the same key gets the first shipment", async () => {
    const { world, result } = await run({ faults: { ship: ["lost-reply"] } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo("ship")).toBe(2);
    expect(world.records.shipments).toHaveLength(1);
  });

  it("in doubt until retries run out: the order fails naming the shipment's key and the charge", async () => {
    const { world, result } = await run({ always: { ship: "lost-reply" } });
    expect(result.getError().errorType).toBe("OrderInDoubtError");
    expect(result.getError().errorMessage).toContain(
      "The shipment for order order-1042 is in doubt (idempotency key order-1042:ship)",
    );
    expect(result.getError().errorMessage).toContain("Charge ch-order-1042 (4900 EUR) stands");
    expect(world.callsTo("ship")).toBe(5);
    expect(world.records.shipments).toHaveLength(1); // the carrier did ship: a person looks it up by the key
    expect(world.records.charges).toHaveLength(1);
  });

  it("crash before the checkpoint: the step runs again with the same key, and ships once", async () => {
    const { world, result, crashes } = await run({}, "create-shipment");
    expect(crashes).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo("ship")).toBe(2);
    expect(world.records.shipments).toHaveLength(1);
  });
});

describeLocal.each([
  ["email-tracking-number", "email-tracking", "order-shipped"],
  ["request-review", "review-request", "review-request"],
] as const)("%s (best effort)", (operation, call, template) => {
  const others = (sent: { template: string }[]) => sent.filter((message) => message.template !== template);

  it("not done: recorded in the result and a log line; the order that was charged and shipped is fulfilled", async () => {
    const { world, result, warnings } = await run({ always: { [call]: "refused" } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.sideWork).toContainEqual({
      operation,
      status: "not-sent",
      error: "notifier answered 422 (unprocessable: refused before acting)",
    });
    expect(warnings).toContainEqual([
      "Best-effort step failed; recorded, not thrown",
      {
        operation,
        status: "not-sent",
        error: "notifier answered 422 (unprocessable: refused before acting)",
      },
    ]);
    expect(world.records.charges).toHaveLength(1);
    expect(world.records.shipments).toHaveLength(1);
    expect(world.records.sent).toEqual(others(world.records.sent));
  });

  it("in doubt: retried with the same key (the notifier sends once); if it never answers, recorded as in doubt", async () => {
    const { world, result } = await run({ always: { [call]: "lost-reply" } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.sideWork).toContainEqual(
      expect.objectContaining({ operation, status: "in-doubt" }),
    );
    expect(world.callsTo(call)).toBe(4);
    expect(world.records.sent.filter((message) => message.template === template)).toHaveLength(1);
  });

  it("crash before the checkpoint: sent again with the same key, and the notifier sends it once", async () => {
    const { world, result, crashes } = await run({}, operation);
    expect(crashes).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo(call)).toBe(2);
    expect(world.records.sent.filter((message) => message.template === template)).toHaveLength(1);
  });
});
