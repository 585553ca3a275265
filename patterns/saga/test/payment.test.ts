import {
  DurableExecutionInvocationInputWithClient,
  StepInterruptedError,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  OperationType,
} from "@aws/durable-execution-sdk-js-testing";
import {
  chargeRetryStrategy,
  createPaymentHandler,
  ProviderRejectedError,
  ProviderUnavailableError,
  type PaymentReceipt,
} from "../src";
import { simulatedWorld } from "../src/demo";
import { ALL_COMPENSATIONS, runTrip } from "./helpers";
import {
  createRunner,
  describeLocal,
  itLocal,
  setupTestEnvironment,
  teardownTestEnvironment,
} from "./target";

// With DURABLE_TEST_TARGET=cloud the bad-request test runs against the deployed payment function (see
// target.ts). The others inject gateway faults, count gateway calls or wrap the handler: local only.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const request = {
  bookingId: "trip-2041",
  customerId: "cust-88",
  amountCents: 248_000,
  currency: "GBP",
  idempotencyKey: "trip-2041:charge-payment",
};

describeLocal("payment failures surface through invoke", () => {
  it("a declined card fails the invoke with an InvokeError; the saga undoes the reservations, not a charge", async () => {
    const world = simulatedWorld({ faults: { "gateway.charge": ["rejected"] } });
    const { runner, result, names } = await runTrip(world);

    const charge = runner.getOperation("charge-payment");
    expect(charge.getType()).toBe(OperationType.CHAINED_INVOKE);
    expect(charge.getStatus()).toBe(OperationStatus.FAILED);
    expect(charge.getChainedInvokeDetails()?.error?.errorMessage).toBe("card declined (402)");
    expect(result.getError().errorMessage).toBe(
      "Booking trip-2041 failed at charge-payment: card declined (402). Undone: cancel-car, cancel-hotel, cancel-flight.",
    );
    expect(world.callsTo("gateway.charge")).toBe(1); // a decline is never retried
    expect(names.filter((name) => ALL_COMPENSATIONS.includes(name))).toEqual([
      "cancel-car",
      "cancel-hotel",
      "cancel-flight",
    ]);
    expect(world.callsTo("refunds.refund")).toBe(0);
  });

  it("a gateway that stays unavailable exhausts the payment function's retries, then the saga compensates", async () => {
    const world = simulatedWorld({ down: ["gateway.charge"] });
    const { runner, result } = await runTrip(world);

    expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.error?.errorMessage).toBe(
      "gateway.charge unavailable (503)",
    );
    expect(result.getError().errorType).toBe("BookingFailedError");
    expect(world.callsTo("gateway.charge")).toBe(3);
    expect(world.effectsOf("flights.cancel")).toBe(1);
  });

  it("a gateway outage on the first attempt is retried inside the payment function, with the same key", async () => {
    const world = simulatedWorld({ faults: { "gateway.charge": ["unavailable"] } });
    const { result } = await runTrip(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(
      world.calls.filter((call) => call.call === "gateway.charge").map((call) => call.idempotencyKey),
    ).toEqual(["trip-2041:charge-payment", "trip-2041:charge-payment"]);
    expect(world.effectsOf("gateway.charge")).toBe(1);
  });
});

describe("the payment function on its own", () => {
  itLocal(
    "checkpoints the start of each charge attempt before calling the gateway (at most once per retry)",
    async () => {
      const world = simulatedWorld();
      const timeline: string[] = [];
      const inner = createPaymentHandler({
        gateway: { charge: (r) => (timeline.push("call gateway"), world.paymentDeps.gateway.charge(r)) },
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

      const result = await new LocalDurableTestRunner<PaymentReceipt>({ handlerFunction: handler }).run({
        payload: request,
      });

      expect(result.getResult()).toEqual({ chargeId: "ch-trip-2041", amountCents: 248_000, currency: "GBP" });
      expect(timeline).toEqual(["START charge-card", "call gateway", "SUCCEED charge-card"]);
    },
  );

  it("never retries an interrupted charge or a decline; retries an outage", () => {
    expect(chargeRetryStrategy(new StepInterruptedError("charge-card", "charge-card"), 1)).toEqual({
      shouldRetry: false,
    });
    expect(chargeRetryStrategy(new ProviderRejectedError("card declined"), 1)).toEqual({
      shouldRetry: false,
    });
    expect(
      chargeRetryStrategy(new Error("Charge trip-2041:charge-payment outcome unknown: socket hang up"), 1),
    ).toEqual({
      shouldRetry: false,
    });
    expect(chargeRetryStrategy(new ProviderUnavailableError("503"), 1).shouldRetry).toBe(true);
    expect(chargeRetryStrategy(new ProviderUnavailableError("503"), 3).shouldRetry).toBe(false);
  });

  it("rejects a bad request before charging", async () => {
    const world = simulatedWorld();
    const runner = createRunner({
      handler: createPaymentHandler(world.paymentDeps),
      cloudOutput: "SagaPaymentHandlerAliasArn",
    });
    const result = await runner.run({ payload: { ...request, amountCents: -5, idempotencyKey: "" } });

    expect(result.getError()).toMatchObject({
      errorType: "InvalidPaymentRequestError",
      errorMessage: "Invalid payment request: amountCents must be positive; idempotencyKey is required",
    });
    // Locally the fake gateway saw no call; in the cloud the empty operation list is the proof.
    expect(world.calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
  });
});
