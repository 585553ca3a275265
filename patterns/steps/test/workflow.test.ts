import {
  DurableExecutionInvocationInputWithClient,
  OperationSubType,
  StepInterruptedError,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  OperationType,
} from "@aws/durable-execution-sdk-js-testing";
import { createHandler, OutcomeInDoubtError, Reservation, type FulfilmentResult } from "../src";
import { sampleOrder, simulatedWorld, type WorldOptions } from "../src/demo";
import { chargeRetryStrategy, retryUnlessClientError } from "../src/retry-policies";
import { reservationSerdes } from "../src/workflow";
import { createRunner, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The hold on stock is the execution's: its key carries the order id and a tag of the execution.
const holdKey = expect.stringMatching(/^order-1042:reserve:[0-9a-f]{12}$/) as string;

// With DURABLE_TEST_TARGET=cloud the tests declared with `it` run against the deployed function (see
// target.ts); those declared with `itLocal` read the simulated world and run only locally.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

async function runOrder(options: WorldOptions = {}, payload: unknown = sampleOrder) {
  const world = simulatedWorld(options);
  const runner = createRunner<FulfilmentResult>({
    handler: createHandler(world.deps),
    cloudOutput: "StepsHandlerAliasArn",
  });
  const result = await runner.run({ payload });
  return { world, runner, result };
}

describe("order fulfilment", () => {
  itLocal("reserves, charges once, ships, waits three days and asks for a review", async () => {
    const { world, runner, result } = await runOrder();

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const { reservedUntil, ...outcome } = result.getResult()!;
    expect(reservedUntil).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(outcome).toEqual({
      orderId: "order-1042",
      status: "FULFILLED",
      amountCents: 4900,
      currency: "EUR",
      reservationId: "res-order-1042",
      chargeId: "ch-order-1042",
      chargeSettledBy: "charge",
      carrier: "UPS",
      trackingNumber: "1Z-order-1042",
      sideWork: [
        { operation: "email-tracking-number", status: "sent" },
        { operation: "request-review", status: "sent" },
      ],
    });
    expect(world.calls.map((call) => `${call.call} ${call.idempotencyKey}`)).toEqual([
      // The hold is this execution's; money, goods and messages are the order's (src/idempotency-keys.ts).
      expect.stringMatching(/^reserve order-1042:reserve:[0-9a-f]{12}$/),
      // The gateway does not honour keys: the charge step asks for a charge under the key before charging.
      "find-charge order-1042:charge",
      "charge order-1042:charge",
      "ship order-1042:ship",
      "email-tracking order-1042:email-tracking",
      "review-request order-1042:review-request",
    ]);
    // The providers' own records: held once, charged once, shipped once, two messages.
    expect(world.records).toEqual({
      stock: [
        {
          reservationKey: holdKey,
          reservationId: "res-order-1042",
          status: "held",
          expiresAt: expect.any(Date) as Date,
        },
      ],
      charges: [
        {
          chargeId: "ch-order-1042",
          idempotencyKey: "order-1042:charge",
          amountCents: 4900,
          currency: "EUR",
        },
      ],
      shipments: [
        {
          idempotencyKey: "order-1042:ship",
          trackingNumber: "1Z-order-1042",
          reservationId: "res-order-1042",
          at: expect.any(Date) as Date,
        },
      ],
      sent: [
        {
          idempotencyKey: "order-1042:email-tracking",
          template: "order-shipped",
          to: "ada@example.com",
          data: { orderId: "order-1042", carrier: "UPS", trackingNumber: "1Z-order-1042" },
        },
        {
          idempotencyKey: "order-1042:review-request",
          template: "review-request",
          to: "ada@example.com",
          data: { orderId: "order-1042" },
        },
      ],
    });

    const wait = runner.getOperation("wait-before-review-request");
    expect(wait.getType()).toBe(OperationType.WAIT);
    expect(wait.getWaitDetails()?.waitSeconds).toBe(3 * 24 * 60 * 60);

    // The child context groups its two steps: they are its children, not top-level operations.
    const shipOrder = runner.getOperation("ship-order");
    expect(shipOrder.getType()).toBe(OperationType.CONTEXT);
    expect(shipOrder.getSubType()).toBe(OperationSubType.RUN_IN_CHILD_CONTEXT);
    expect(shipOrder.getChildOperations()?.map((child) => child.getName())).toEqual([
      "create-shipment",
      "email-tracking-number",
    ]);
    for (const name of [
      "reserve-stock",
      "charge-payment",
      "create-shipment",
      "email-tracking-number",
      "request-review",
    ]) {
      expect(runner.getOperation(name).getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(runner.getOperation(name).getStepDetails()?.attempt).toBe(1);
    }
  });

  it("checkpoints the Reservation with a class serdes, so it comes back as a class with a Date", async () => {
    const context = { entityId: "1", durableExecutionArn: "arn" };
    const original = Reservation.of("res-1", new Date("2030-01-02T03:04:05.000Z"));
    const restored = await reservationSerdes.deserialize(
      await reservationSerdes.serialize(original, context),
      context,
    );
    expect(restored).toBeInstanceOf(Reservation);
    expect(restored?.expiresAt).toEqual(new Date("2030-01-02T03:04:05.000Z"));
    expect(restored?.isExpiredAt(new Date("2031-01-01"))).toBe(true);
  });
});

describe("retries", () => {
  itLocal(
    "retries a transient inventory fault with backoff, then succeeds with the same idempotency key",
    async () => {
      const { world, runner, result } = await runOrder({ faults: { reserve: ["unavailable", "throttled"] } });

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(runner.getOperation("reserve-stock").getStepDetails()?.attempt).toBe(3);
      expect(world.calls.filter((call) => call.call === "reserve")).toEqual([
        { call: "reserve", idempotencyKey: holdKey, outcome: "unavailable" },
        { call: "reserve", idempotencyKey: holdKey, outcome: "throttled" },
        { call: "reserve", idempotencyKey: holdKey, outcome: "ok" },
      ]);
      const keys = world.calls.filter((call) => call.call === "reserve").map((call) => call.idempotencyKey);
      expect(new Set(keys).size).toBe(1);
      expect(world.records.stock).toHaveLength(1);
      expect(world.records.charges).toHaveLength(1);
    },
  );

  itLocal("fails clearly when retries are exhausted, and no later step runs", async () => {
    const { world, runner, result } = await runOrder({ always: { reserve: "unavailable" } });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain("inventory answered 503");
    expect(world.callsTo("reserve")).toBe(4); // maxAttempts of retryWithSameKey
    expect(runner.getOperation("reserve-stock").getStatus()).toBe(OperationStatus.FAILED);
    // Only the last attempt is known to have done nothing, so the stock is released by key (harmless here).
    expect(world.callsTo("release")).toBe(1);
    expect(world.callsTo("charge")).toBe(0);
    expect(world.callsTo("ship")).toBe(0);
    // check-settings added: it runs first for every deps, with nothing to check for the simulated ones.
    expect(result.getOperations().map((operation) => operation.getName())).toEqual([
      "check-settings",
      "reserve-stock",
      "release-stock",
    ]);
  });

  itLocal("does not retry a client error: out of stock fails at once, before any charge", async () => {
    const { world, runner, result } = await runOrder({ faults: { reserve: ["refused"] } });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "OrderFailedError",
      errorMessage:
        "Order order-1042 failed at reserve-stock: inventory answered 422 (unprocessable: refused before acting). " +
        "Nothing was reserved or charged.",
    });
    expect(runner.getOperation("reserve-stock").getStepDetails()?.attempt).toBe(1);
    expect(world.calls.map((call) => call.call)).toEqual(["reserve"]);
    expect(world.records.stock).toEqual([]);
    expect(world.records.charges).toEqual([]);
  });

  itLocal("the custom shipping decision retries a carrier outage but not a rejected address", async () => {
    const outage = await runOrder({ faults: { ship: ["unavailable"] } });
    expect(outage.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(outage.runner.getOperation("create-shipment").getStepDetails()?.attempt).toBe(2);
    expect(outage.world.records.shipments).toHaveLength(1);

    const rejected = await runOrder({ faults: { ship: ["refused"] } });
    expect(rejected.result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(rejected.world.callsTo("ship")).toBe(1);
    expect(rejected.runner.getOperation("create-shipment").getStatus()).toBe(OperationStatus.FAILED);
    expect(rejected.result.getError().errorType).toBe("OrderFailedError");
    expect(rejected.world.records.sent).toEqual([]);

    expect(retryUnlessClientError(new Error("socket hang up"), 1)).toEqual({
      shouldRetry: true,
      delay: { seconds: 2 },
    });
    expect(retryUnlessClientError(new Error("socket hang up"), 5)).toEqual({ shouldRetry: false });
    // In doubt is sent again too: the carrier honours the key, so the repeat cannot ship twice.
    expect(retryUnlessClientError(new OutcomeInDoubtError("timed out", undefined), 1).shouldRetry).toBe(true);
  });
});

describe("the charge is at most once per retry", () => {
  itLocal("checkpoints the start of each charge attempt before calling the provider", async () => {
    // Record checkpoints and provider calls on one timeline by wrapping the client the runner hands
    // to each invocation. A crash after "START charge-payment" is then visible on replay.
    const world = simulatedWorld();
    const timeline: string[] = [];
    const inner = createHandler({
      ...world.deps,
      inventory: {
        ...world.deps.inventory,
        reserve: (request) => (timeline.push("call inventory"), world.deps.inventory.reserve(request)),
      },
      payments: {
        ...world.deps.payments,
        charge: (request) => (timeline.push("call payments"), world.deps.payments.charge(request)),
      },
    });
    const handler: DurableLambdaHandler = (input, lambdaContext) => {
      const client = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
      const observed = new DurableExecutionInvocationInputWithClient(input, {
        getExecutionState: (request, logger) => client.getExecutionState(request, logger),
        checkpoint: async (request, logger) => {
          const response = await client.checkpoint(request, logger);
          for (const update of request.Updates ?? [])
            timeline.push(`${update.Action} ${update.Name ?? update.Id}`);
          return response;
        },
      });
      return inner(observed, lambdaContext);
    };

    const result = await new LocalDurableTestRunner({ handlerFunction: handler }).run({
      payload: sampleOrder,
    });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const position = (entry: string) => timeline.indexOf(entry);
    // At-least-once (reserve-stock): the call happens before anything is checkpointed.
    expect(position("call inventory")).toBeLessThan(position("START reserve-stock"));
    // At-most-once (charge-payment): the start is durable before the provider is called.
    expect(position("START charge-payment")).toBeGreaterThan(-1);
    expect(position("START charge-payment")).toBeLessThan(position("call payments"));
    expect(position("call payments")).toBeLessThan(position("SUCCEED charge-payment"));
  });

  itLocal("retries a declined-for-now charge with the same key, but never an interrupted one", async () => {
    // Throttled (429) is not done: the gateway did not process it, so sending it again cannot charge twice.
    const { world, runner, result } = await runOrder({ faults: { charge: ["throttled"] } });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(runner.getOperation("charge-payment").getStepDetails()?.attempt).toBe(2);
    expect(world.calls.filter((call) => call.call === "charge").map((call) => call.idempotencyKey)).toEqual([
      "order-1042:charge",
      "order-1042:charge",
    ]);
    expect(world.records.charges).toHaveLength(1);

    // What the SDK hands the strategy when it replays an attempt that started and never finished.
    expect(chargeRetryStrategy(new StepInterruptedError("charge-payment", "charge-payment"), 1)).toEqual({
      shouldRetry: false,
    });
  });
});

describe("bad input", () => {
  const missingEmail = { ...sampleOrder, customer: { id: "cust-7" } };
  it.each([
    ["an empty event", {}, "orderId"],
    ["no items", { ...sampleOrder, items: [] }, "items must contain at least one item"],
    [
      "a zero quantity",
      { ...sampleOrder, items: [{ sku: "MUG-BLUE", quantity: 0, unitPriceCents: 1 }] },
      "items[0].quantity must be at least 1",
    ],
    [
      "a fractional price",
      { ...sampleOrder, items: [{ sku: "MUG-BLUE", quantity: 1, unitPriceCents: 9.99 }] },
      "items[0].unitPriceCents must be a whole number of cents",
    ],
    ["a missing email", missingEmail, "customer.email"],
    ["an unknown currency", { ...sampleOrder, currency: "BTC" }, "currency must be one of USD, EUR, GBP"],
    [
      "a bad country",
      { ...sampleOrder, shipTo: { ...sampleOrder.shipTo, country: "Britain" } },
      "shipTo.country must be an ISO 3166 two-letter code",
    ],
    ["not an object", "order-1042", "event"],
    ["an order id of only spaces", { ...sampleOrder, orderId: "     " }, "orderId must be 3-64 letters"],
    [
      "a customer id of only spaces",
      { ...sampleOrder, customer: { ...sampleOrder.customer, id: "   " } },
      "customer.id must not be blank",
    ],
    [
      "an address line of only spaces",
      { ...sampleOrder, shipTo: { ...sampleOrder.shipTo, line1: " \t " } },
      "shipTo.line1 must not be blank",
    ],
    [
      "a customer id of 100 KB",
      { ...sampleOrder, customer: { ...sampleOrder.customer, id: "c".repeat(100_000) } },
      "customer.id must be at most 200 characters",
    ],
    [
      "a name of 100 KB",
      { ...sampleOrder, shipTo: { ...sampleOrder.shipTo, name: "n".repeat(100_000) } },
      "shipTo.name must be at most 200 characters",
    ],
    [
      "an email of 100 KB",
      { ...sampleOrder, customer: { ...sampleOrder.customer, email: `${"a".repeat(100_000)}@example.com` } },
      "customer.email must be at most 254 characters",
    ],
    [
      "an order id of 100 KB",
      { ...sampleOrder, orderId: "o".repeat(100_000) },
      "orderId must be 3-64 letters",
    ],
    [
      "a total past Number.MAX_SAFE_INTEGER cents",
      {
        ...sampleOrder,
        items: [{ sku: "MUG-BLUE", quantity: 100, unitPriceCents: Number.MAX_SAFE_INTEGER }],
      },
      "items total must be at most 9007199254740991 cents",
    ],
    [
      "a price past Number.MAX_SAFE_INTEGER",
      { ...sampleOrder, items: [{ sku: "MUG-BLUE", quantity: 1, unitPriceCents: 2 ** 60 }] },
      "items[0].unitPriceCents must be at most Number.MAX_SAFE_INTEGER",
    ],
  ])("rejects %s before any side effect", async (_label, payload, problem) => {
    const { world, result } = await runOrder({}, payload);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidOrderError");
    expect(result.getError().errorMessage).toContain(problem);
    // Locally the fakes saw no call; in the cloud (real services) the empty operation list is the proof.
    expect(world.calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
    expect(result.getInvocations()).toHaveLength(1);
  });
});
