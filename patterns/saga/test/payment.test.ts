import {
  DurableExecutionInvocationInputWithClient,
  StepInterruptedError,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationType,
} from "@aws/durable-execution-sdk-js-testing";
import {
  chargeRetryStrategy,
  createPaymentHandler,
  ProviderRejectedError,
  ProviderUnavailableError,
  OutcomeInDoubtError,
  type PaymentResult,
} from "../src";
import { simulatedWorld } from "../src/demo";
import { ALL_COMPENSATIONS, callsOf, runTrip } from "./helpers";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Every test here that runs a function is local only: they inject gateway faults, count gateway calls, wrap the
// handler or start the payment function directly (deployed, only the saga starts it, through context.invoke).
// The retry strategy's test is a pure function and runs anywhere. See target.ts.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const request = {
  bookingId: "trip-2041",
  customerId: "cust-88",
  amountCents: 248_000,
  currency: "GBP",
  idempotencyKey: "trip-2041:charge-payment",
};

describeLocal(
  "the payment function's result: charged, declined or in doubt, and what the saga does with it",
  () => {
    it("declined: nothing charged, the reservations are cancelled, nothing is refunded", async () => {
      const world = simulatedWorld({ faults: { "gateway.charge": ["rejected"] } });
      const { runner, result, names } = await runTrip(world);

      const charge = runner.getOperation("charge-payment");
      expect(charge.getType()).toBe(OperationType.CHAINED_INVOKE);
      expect(charge.getChainedInvokeDetails()?.result).toEqual({
        status: "DECLINED",
        reason: "card declined (402)",
      });
      expect(result.getError().errorMessage).toBe(
        'Booking trip-2041 failed at charge-payment: "card declined (402)". Undone: cancel-car, cancel-hotel, cancel-flight.',
      );
      expect(world.callsTo("gateway.charge")).toBe(1); // a decline is never retried
      expect(names.filter((name) => ALL_COMPENSATIONS.includes(name))).toEqual([
        "cancel-car",
        "cancel-hotel",
        "cancel-flight",
      ]);
      // The providers' records: nothing charged, nothing held, no refund asked for.
      expect(world.charges).toEqual([]);
      expect(world.held()).toEqual([]);
      expect(world.callsTo("refunds.refund")).toBe(0);
      expect(world.callsTo("refunds.findCharge")).toBe(0);
    });

    it("not done: a gateway down past its retries charged nothing; the saga compensates", async () => {
      const world = simulatedWorld({ down: ["gateway.charge"] });
      const { runner, result } = await runTrip(world);

      expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toEqual({
        status: "DECLINED",
        reason: "gateway.charge unavailable (503)",
      });
      expect(result.getError().errorType).toBe("BookingFailedError");
      expect(world.callsTo("gateway.charge")).toBe(3);
      expect(world.charges).toEqual([]);
      expect(world.held()).toEqual([]);
    });

    it("an outage on the first attempt is retried inside the payment function, with the same key", async () => {
      const world = simulatedWorld({ faults: { "gateway.charge": ["unavailable"] } });
      const { result } = await runTrip(world);

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(
        callsOf(world)
          .filter((call) => call.call === "gateway.charge")
          .map((call) => call.idempotencyKey),
      ).toEqual(["trip-2041:charge-payment", "trip-2041:charge-payment"]);
      expect(world.charged()).toEqual(["ch-trip-2041"]);
    });

    it("in doubt, charged: the gateway charged and the reply was lost; the look-up by key finds it, the trip is booked", async () => {
      const world = simulatedWorld({ faults: { "gateway.charge": ["lost-reply"] } });
      const { runner, result } = await runTrip(world);

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()?.chargeId).toBe("ch-trip-2041");
      expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toMatchObject({
        status: "CHARGED",
        settledBy: "look-up",
      });
      // Charged once, never sent again, and confirmed with that charge.
      expect(world.callsTo("gateway.charge")).toBe(1);
      expect(world.callsTo("gateway.findCharge")).toBe(1);
      expect(world.charges).toMatchObject([
        { chargeId: "ch-trip-2041", amountCents: 248_000, status: "charged" },
      ]);
      expect(world.itineraries).toMatchObject([{ chargeId: "ch-trip-2041" }]);
    });

    it("in doubt, not charged: a 500 that did nothing; the look-up finds no charge, the saga compensates", async () => {
      const world = simulatedWorld({ faults: { "gateway.charge": ["server-error"] } });
      const { runner, result, names } = await runTrip(world);

      expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toMatchObject({
        status: "DECLINED",
        reason: expect.stringContaining("no charge under trip-2041:") as unknown,
      });
      expect(result.getError().errorMessage).toContain("Undone: cancel-car, cancel-hotel, cancel-flight.");
      expect(names).not.toContain("refund-payment");
      expect(world.callsTo("gateway.charge")).toBe(1);
      expect(world.charges).toEqual([]);
      expect(world.held()).toEqual([]);
    });

    it("still in doubt (the look-up is down too): the saga refunds by the charge's key", async () => {
      const world = simulatedWorld({
        faults: { "gateway.charge": ["lost-reply"] },
        down: ["gateway.findCharge"],
      });
      const { runner, result, names } = await runTrip(world);

      expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toMatchObject({
        status: "IN_DOUBT",
      });
      expect(result.getError().errorMessage).toMatch(
        /^Booking trip-2041 failed at charge-payment: "payment in doubt: .*"\. Undone: refund-payment, cancel-car, cancel-hotel, cancel-flight\.$/,
      );
      expect(names.filter((name) => ALL_COMPENSATIONS.includes(name))).toEqual(ALL_COMPENSATIONS);
      expect(runner.getOperation("refund-payment").getStepDetails()?.result).toEqual({
        undid: "ch-trip-2041",
        note: "found ch-trip-2041 by its key and undid it",
      });
      // The gateway's own record: charged once, refunded once; nothing held.
      expect(world.charges).toMatchObject([{ chargeId: "ch-trip-2041", status: "refunded" }]);
      expect(world.effectsOf("refunds.refund")).toBe(1);
      expect(world.held()).toEqual([]);
      expect(world.alerts).toEqual([]);
    });

    it("in doubt and unsettleable (every look-up down): the charge is reported to operations and named in the error", async () => {
      const world = simulatedWorld({
        faults: { "gateway.charge": ["lost-reply"] },
        down: ["gateway.findCharge", "refunds.findCharge"],
      });
      const { result } = await runTrip(world);

      expect(result.getError().errorMessage).toMatch(
        /Undone: cancel-car, cancel-hotel, cancel-flight\. NOT undone: refund-payment \("refunds\.findCharge unavailable \(503\)"\); operations alerted\.$/,
      );
      expect(world.charged()).toEqual(["ch-trip-2041"]); // left behind, and reported:
      expect(world.alerts).toMatchObject([
        {
          bookingId: "trip-2041",
          failedAt: "charge-payment",
          notUndone: [{ compensation: "refund-payment", reason: "refunds.findCharge unavailable (503)" }],
        },
      ]);
      expect(world.held()).toEqual([]);
    });

    it("a charge found by its key for another amount is not believed: in doubt, never refunded blindly, reported", async () => {
      const world = simulatedWorld({ faults: { "gateway.charge": ["lost-reply"] } });
      const gateway = world.paymentDeps.gateway;
      // A gateway that recorded another amount under our key (a bug, or a key reused by someone else).
      world.paymentDeps.gateway = { ...gateway, charge: (r) => gateway.charge({ ...r, amountCents: 1_000 }) };
      const { runner, result } = await runTrip(world);

      expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toEqual({
        status: "IN_DOUBT",
        reason: expect.stringMatching(
          /^charge ch-trip-2041 under .* is for 1000 GBP, not 248000 GBP$/,
        ) as unknown,
      });
      expect(result.getError().errorMessage).toContain(
        'NOT undone: refund-payment ("charge ch-trip-2041 under its key is for 1000 GBP"); operations alerted.',
      );
      expect(world.charges).toMatchObject([
        { chargeId: "ch-trip-2041", amountCents: 1_000, status: "charged" },
      ]);
      expect(world.callsTo("refunds.refund")).toBe(0);
      expect(world.alerts).toMatchObject([{ notUndone: [{ compensation: "refund-payment" }] }]);
      expect(world.held()).toEqual([]);
    });

    it("waits before it looks a charge in doubt up, so a charge still in flight has landed", async () => {
      const payment = new LocalDurableTestRunner<PaymentResult>({
        handlerFunction: createPaymentHandler(
          simulatedWorld({ faults: { "gateway.charge": ["server-error"] } }).paymentDeps,
        ),
      });
      const alone = await payment.run({ payload: request });
      expect(payment.getOperation("wait-before-look-up").getWaitDetails()?.waitSeconds).toBe(60);
      expect(alone.getOperations().map((op) => op.getName())).toEqual([
        "charge-card",
        "wait-before-look-up",
        "look-up-charge",
      ]);
    });

    it("charged, then the confirmation refused: refunded by the charge id the payment function returned", async () => {
      const world = simulatedWorld({ faults: { "itineraries.confirm": ["rejected"] } });
      const { runner } = await runTrip(world);

      expect(runner.getOperation("refund-payment").getStepDetails()?.result).toEqual({
        undid: "ch-trip-2041",
        note: "undid ch-trip-2041",
      });
      expect(world.callsTo("refunds.findCharge")).toBe(0);
      expect(world.charges).toMatchObject([{ chargeId: "ch-trip-2041", status: "refunded" }]);
      expect(world.held()).toEqual([]);
    });
  },
);

describe("the payment function on its own", () => {
  itLocal(
    "checkpoints the start of each charge attempt before calling the gateway (at most once per retry)",
    async () => {
      const world = simulatedWorld();
      const timeline: string[] = [];
      const inner = createPaymentHandler({
        gateway: {
          ...world.paymentDeps.gateway,
          charge: (r) => (timeline.push("call gateway"), world.paymentDeps.gateway.charge(r)),
        },
      });
      const handler: DurableLambdaHandler = (input, lambdaContext) => {
        const client = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
        const observed = new DurableExecutionInvocationInputWithClient(input, {
          getExecutionState: (req, logger) => client.getExecutionState(req, logger),
          checkpoint: async (req, logger) => {
            const response = await client.checkpoint(req, logger);
            for (const update of req.Updates ?? [])
              timeline.push(`${update.Action} ${update.Name ?? update.Id}`);
            return response;
          },
        });
        return inner(observed, lambdaContext);
      };

      const result = await new LocalDurableTestRunner<PaymentResult>({ handlerFunction: handler }).run({
        payload: request,
      });

      expect(result.getResult()).toEqual({
        status: "CHARGED",
        chargeId: "ch-trip-2041",
        amountCents: 248_000,
        currency: "GBP",
        settledBy: "charge",
      });
      expect(timeline).toEqual(["START charge-card", "call gateway", "SUCCEED charge-card"]);
    },
  );

  it("never retries an interrupted charge, an answer in doubt or a decline; retries an outage", () => {
    expect(chargeRetryStrategy(new StepInterruptedError("charge-card", "charge-card"), 1)).toEqual({
      shouldRetry: false,
    });
    expect(chargeRetryStrategy(new ProviderRejectedError("card declined"), 1)).toEqual({
      shouldRetry: false,
    });
    expect(chargeRetryStrategy(new OutcomeInDoubtError("socket hang up"), 1)).toEqual({ shouldRetry: false });
    expect(chargeRetryStrategy(new Error("anything unknown"), 1)).toEqual({ shouldRetry: false });
    expect(chargeRetryStrategy(new ProviderUnavailableError("503"), 1).shouldRetry).toBe(true);
    expect(chargeRetryStrategy(new ProviderUnavailableError("503"), 3).shouldRetry).toBe(false);
  });

  // Local only: it starts the payment function directly, and the cloud-test policy allows that nowhere (deployed,
  // the payment function is started only by the saga, through context.invoke). The cloud still proves bad input is
  // refused before any side effect through the saga's bad-input tests, which run against the deployed saga.
  itLocal("rejects a bad request before charging", async () => {
    const world = simulatedWorld();
    const runner = new LocalDurableTestRunner<PaymentResult>({
      handlerFunction: createPaymentHandler(world.paymentDeps),
    });
    const result = await runner.run({ payload: { ...request, amountCents: -5, idempotencyKey: "" } });

    expect(result.getError()).toMatchObject({
      errorType: "InvalidPaymentRequestError",
      errorMessage: "Invalid payment request: amountCents must be positive; idempotencyKey is required",
    });
    // The fake gateway saw no call, and no operation was checkpointed.
    expect(world.calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
  });
});
