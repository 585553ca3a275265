import {
  OperationType,
  WaitingOperationStatus,
  ExecutionStatus,
} from "@aws/durable-execution-sdk-js-testing";
import {
  ClientError,
  createHandler,
  PaymentDeclinedError,
  SecretSettingError,
  TransientServiceError,
  type CheckoutOutcome,
} from "../src";
import { paymentEvent, sampleOrder, simulatedWorld, type WorldOptions } from "../src/demo";
import { setUp, testConfig, webhookNeverComes } from "./support";
import { createRunner, describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): these tests read the simulated providers' records, deliver the webhook by hand
// and shorten the payment timeout. The deployed function has real providers and a 30-minute timeout.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const stepNames = (result: { getOperations(): Array<{ getName(): string | undefined }> }) =>
  result.getOperations().map((operation) => operation.getName());

describeLocal("the provider's webhook settles the payment", () => {
  it("payment confirmed: the order ships, once, and the execution replays across invocations", async () => {
    const { world, runner, suspended } = setUp();
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    // The workflow is suspended on the callback once the payment is requested (and its invocation has returned).
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await suspended();
    const event = world.settle(sampleOrder.orderId, "succeeded");
    await webhook.sendCallbackSuccess(JSON.stringify(event));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const payment = world.paymentOf(sampleOrder.orderId)!;
    expect(result.getResult()).toEqual({
      orderId: "A-1001",
      status: "FULFILLED",
      paymentId: payment.paymentId,
      shipmentId: world.shipments[0]!.shipmentId,
      confirmedBy: "webhook",
    });
    // The providers' own records: one payment requested and captured, one shipment, nothing cancelled.
    expect(world.paymentRequests).toEqual([{ idempotencyKey: "A-1001:payment", outcome: "accepted" }]);
    expect(payment.status).toBe("succeeded");
    expect(world.shipments).toHaveLength(1);
    expect(world.shipments[0]).toMatchObject({ orderId: "A-1001", items: sampleOrder.items });
    expect(world.cancellations).toEqual([]);
    // The webhook finds the callback through the registry, keyed by order id.
    expect(world.registry.get("A-1001")).toBe(webhook.getCallbackDetails()!.callbackId);
    // Replay: the handler ran again after the callback, each step body once.
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(webhook.getType()).toBe(OperationType.CALLBACK);
    expect(stepNames(result)).toEqual([
      "payment-webhook",
      "register-payment-callback",
      "request-payment",
      "fulfil-order",
    ]);
  });

  it("payment failed: the order is cancelled with the provider's reason, nothing ships", async () => {
    const { world, runner, suspended } = setUp();
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await suspended();
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle(sampleOrder.orderId, "failed")));
    const result = await run;

    expect(result.getResult()).toEqual({
      orderId: "A-1001",
      status: "CANCELLED",
      reason: "payment failed: card_declined_by_issuer",
    });
    expect(world.shipments).toEqual([]);
    expect(world.cancellations).toEqual([
      { orderId: "A-1001", reason: "payment failed: card_declined_by_issuer" },
    ]);
    expect(world.voids).toEqual([]);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
  });

  it("declined at the request (402): cancelled at once, not retried, no webhook awaited", async () => {
    const { world, runner } = setUp({ declines: true });
    const result = await runner.run({ payload: sampleOrder });

    expect(result.getResult()).toEqual({
      orderId: "A-1001",
      status: "CANCELLED",
      reason: "payment declined: insufficient funds",
    });
    expect(world.paymentRequests).toHaveLength(1);
    expect(runner.getOperation("request-payment").getStepDetails()?.attempt).toBe(1);
    expect(world.cancellations).toHaveLength(1);
    expect(world.shipments).toEqual([]);
  });
});

describeLocal(
  "the webhook never arrives, or does not match: settled with the provider, never guessed",
  () => {
    it("no webhook, payment still open: looked up by key, voided, order cancelled", async () => {
      const { world, runner } = setUp({}, testConfig(webhookNeverComes));
      const result = await runner.run({ payload: sampleOrder });

      expect(result.getResult()).toEqual({
        orderId: "A-1001",
        status: "CANCELLED",
        reason: "payment not confirmed (no webhook arrived in time); voided at the provider",
      });
      expect(world.paymentOf("A-1001")!.status).toBe("voided");
      expect(world.voids).toEqual(["A-1001:payment"]);
      expect(world.shipments).toEqual([]);
      expect(stepNames(result)).toEqual([
        "payment-webhook",
        "register-payment-callback",
        "request-payment",
        "look-up-payment",
        "void-payment",
        "cancel-order",
      ]);
      expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    });

    it("no webhook, but the provider captured it: the look-up finds it paid and the order ships", async () => {
      const { world, runner } = setUp({}, testConfig(webhookNeverComes));
      const run = runner.run({ payload: sampleOrder });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      // The provider captured the payment, but its webhook was lost.
      world.settle("A-1001", "succeeded");
      const result = await run;

      expect(result.getResult()).toMatchObject({ status: "FULFILLED", confirmedBy: "look-up" });
      expect(world.voids).toEqual([]);
      expect(world.shipments).toHaveLength(1);
    });

    it("the void comes too late (captured meanwhile): paid, shipped, not cancelled", async () => {
      const { world, runner } = setUp({ capturesBeforeVoid: true }, testConfig(webhookNeverComes));
      const result = await runner.run({ payload: sampleOrder });

      expect(result.getResult()).toMatchObject({ status: "FULFILLED", confirmedBy: "void-too-late" });
      expect(world.paymentOf("A-1001")!.status).toBe("succeeded");
      expect(world.shipments).toHaveLength(1);
      expect(world.cancellations).toEqual([]);
    });

    it.each([
      ["another amount", { amountCents: 1 }, "amount 1 is not 8950"],
      ["another payment", { paymentId: "pay_someoneelse" }, "payment pay_someoneelse is not"],
    ])("a webhook event with %s is not a yes: the provider is asked", async (_label, change, why) => {
      const { world, runner } = setUp();
      const webhook = runner.getOperation("payment-webhook");
      const run = runner.run({ payload: sampleOrder });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      await webhook.waitForData(WaitingOperationStatus.STARTED);
      const payment = world.paymentOf("A-1001")!;
      const event = paymentEvent(payment, "payment.succeeded");
      await webhook.sendCallbackSuccess(JSON.stringify({ ...event, data: { ...event.data, ...change } }));
      const result = await run;

      // The provider still has the payment pending: it is voided and the order cancelled, nothing shipped.
      expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
      const outcome = result.getResult()!;
      expect(outcome.status === "CANCELLED" ? outcome.reason : "").toContain(why);
      expect(world.shipments).toEqual([]);
      expect(payment.status).toBe("voided");
    });

    it.each([
      ["another payment id", { paymentId: "pay_someoneelse9" }],
      ["another amount", { amountCents: 1 }],
    ])(
      "a signed payment.failed with %s is not a no: ours was captured, so the look-up ships it",
      async (_label, change) => {
        const { world, runner } = setUp();
        const webhook = runner.getOperation("payment-webhook");
        const run = runner.run({ payload: sampleOrder });
        await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
        await webhook.waitForData(WaitingOperationStatus.STARTED);
        const event = world.settle("A-1001", "succeeded");
        await webhook.sendCallbackSuccess(
          JSON.stringify({ ...event, type: "payment.failed", data: { ...event.data, ...change } }),
        );
        const result = await run;

        expect(result.getResult()).toMatchObject({ status: "FULFILLED", confirmedBy: "look-up" });
        expect(world.shipments).toHaveLength(1);
        expect(world.cancellations).toEqual([]);
      },
    );

    it("a malformed webhook body is not a yes either", async () => {
      const { world, runner } = setUp();
      const webhook = runner.getOperation("payment-webhook");
      const run = runner.run({ payload: sampleOrder });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      await webhook.waitForData(WaitingOperationStatus.STARTED);
      await webhook.sendCallbackSuccess("paid!");
      const result = await run;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
      expect(world.shipments).toEqual([]);
      expect(runner.getOperation("look-up-payment").getStepDetails()?.result).toEqual({
        status: "pending",
        paymentId: world.paymentOf("A-1001")!.paymentId,
      });
    });
  },
);

describeLocal("the payment request in doubt", () => {
  it("a lost answer after the provider acted: the retry with the same key finds the same payment", async () => {
    const { world, runner } = setUp({ requestFaults: ["in-doubt-created", "unavailable"] });
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle("A-1001", "succeeded")));
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "FULFILLED", confirmedBy: "webhook" });
    // Three requests, one key, one payment at the provider.
    expect(world.paymentRequests.map((request) => request.outcome)).toEqual([
      "in-doubt-created",
      "unavailable",
      "accepted",
    ]);
    expect(new Set(world.paymentRequests.map((request) => request.idempotencyKey))).toEqual(
      new Set(["A-1001:payment"]),
    );
    expect(world.payments.size).toBe(1);
    expect(runner.getOperation("request-payment").getStepDetails()?.attempt).toBe(3);
  });

  it("a setting problem after an attempt that may have reached the provider is not taken as not done: settled by key", async () => {
    const world = simulatedWorld({ requestFaults: ["in-doubt-created"] });
    let attempts = 0;
    const runner = createRunner<CheckoutOutcome>({
      handler: createHandler(
        {
          ...world.deps,
          payments: {
            ...world.deps.payments,
            // The first attempt creates the payment and its answer is lost; the second cannot read the token.
            requestPayment: async (request) => {
              attempts += 1;
              if (attempts === 1) return world.deps.payments.requestPayment(request);
              throw new SecretSettingError(
                "CHECKOUT_API_TOKEN could not be read from the secret in CHECKOUT_API_TOKEN_SECRET_ARN (AccessDeniedException)",
                "CHECKOUT_API_TOKEN",
              );
            },
          },
        },
        testConfig(),
      ),
      cloudOutput: "EntryPointsHandlerAliasArn",
    });
    const result = await runner.run({ payload: sampleOrder });

    // Not retried (a setting), but not "not requested" either: the first attempt may have created the payment.
    expect(runner.getOperation("request-payment").getStepDetails()?.attempt).toBe(2);
    expect(result.getResult()).toEqual({
      orderId: "A-1001",
      status: "CANCELLED",
      reason: "payment not confirmed (the payment request got no clear answer); voided at the provider",
    });
    // The provider's record: the payment the first attempt made is voided, not left open to be captured.
    expect(world.payments.size).toBe(1);
    expect(world.paymentOf("A-1001")!.status).toBe("voided");
    expect(world.voids).toEqual(["A-1001:payment"]);
    expect(world.shipments).toEqual([]);
  });

  it("still in doubt when the retries run out: looked up, voided by key, cancelled", async () => {
    const faults = Array<"in-doubt-created">(5).fill("in-doubt-created");
    const { world, runner } = setUp({ requestFaults: faults });
    const result = await runner.run({ payload: sampleOrder });

    expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
    expect(world.paymentRequests).toHaveLength(5);
    // The payment the provider did create is voided, not left to capture later.
    expect(world.payments.size).toBe(1);
    expect(world.paymentOf("A-1001")!.status).toBe("voided");
    expect(world.shipments).toEqual([]);
  });
});

describeLocal("a reply lost after the service acted is in doubt, whatever the dependency throws", () => {
  /** The checkout up to a captured payment whose signed event has been delivered. */
  async function paidRun(options: WorldOptions) {
    const { world, runner } = setUp(options);
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle("A-1001", "succeeded")));
    return { world, runner, result: await run };
  }

  it.each([
    [
      "a plain ETIMEDOUT",
      () => Object.assign(new Error("connect ETIMEDOUT 10.0.0.1:443"), { code: "ETIMEDOUT" }),
    ],
    [
      "an AbortError (a fetch timeout)",
      () => Object.assign(new Error("This operation was aborted"), { name: "AbortError" }),
    ],
    ["a TransientServiceError (504)", () => new TransientServiceError("warehouse answered 504", 504)],
  ])(
    "the warehouse shipped but the reply was lost (%s): retried with the same key, one shipment, no alert",
    async (_label, lost) => {
      let lostOnce = false;
      const { world, runner, result } = await paidRun({
        shipmentReplyLost: () => ((lostOnce = true), lost()),
      });

      expect(lostOnce).toBe(true);
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({
        status: "FULFILLED",
        shipmentId: world.shipments[0]!.shipmentId,
      });
      expect(world.shipmentRequests).toEqual(["A-1001:ship", "A-1001:ship"]);
      expect(world.shipments).toHaveLength(1);
      expect(world.alerts).toEqual([]);
      expect(runner.getOperation("fulfil-order").getStepDetails()?.attempt).toBe(2);
    },
  );

  it.each([
    ["a plain 'socket hang up'", () => new Error("socket hang up")],
    ["a TransientServiceError (504)", () => new TransientServiceError("order store answered 504", 504)],
  ])(
    "the order store cancelled but the reply was lost (%s): retried with the same key, one cancellation",
    async (_label, lost) => {
      const { world, runner } = setUp({ declines: true, cancellationReplyLost: lost });
      const result = await runner.run({ payload: sampleOrder });

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
      expect(world.cancellationRequests).toEqual(["A-1001:cancel", "A-1001:cancel"]);
      expect(world.cancellations).toHaveLength(1);
      expect(world.alerts).toEqual([]);
    },
  );

  it("a payment made whose reply was lost as a plain ECONNRESET: retried with the same key, one payment, shipped", async () => {
    const { world, result } = await paidRun({ requestFaults: ["created-then-reset"] });

    expect(result.getResult()).toMatchObject({
      status: "FULFILLED",
      paymentId: world.paymentOf("A-1001")!.paymentId,
    });
    expect(world.paymentRequests.map((request) => request.idempotencyKey)).toEqual([
      "A-1001:payment",
      "A-1001:payment",
    ]);
    expect(world.payments.size).toBe(1);
    expect(world.shipments).toHaveLength(1);
  });

  it.each(["created-then-reset", "created-then-unavailable", "created-empty-reply"] as const)(
    "the provider made the payment but every reply was lost (%s): the payment is voided, not left open, and the order cancelled",
    async (fault) => {
      const { world, runner } = setUp({ requestFaults: Array<typeof fault>(5).fill(fault) });
      const result = await runner.run({ payload: sampleOrder });

      expect(result.getResult()).toMatchObject({ status: "CANCELLED" });
      expect(world.paymentRequests).toHaveLength(5);
      expect(world.payments.size).toBe(1);
      expect(world.paymentOf("A-1001")!.status).toBe("voided");
      expect(world.shipments).toEqual([]);
      // The customer's reason names no client error text (ECONNRESET, a status, a host).
      expect(world.cancellations).toEqual([
        {
          orderId: "A-1001",
          reason: "payment not confirmed (the payment request got no clear answer); voided at the provider",
        },
      ]);
    },
  );
});

describeLocal("what cannot be finished is never lost silently", () => {
  async function paidRun(options: Parameters<typeof setUp>[0]) {
    const { world, runner } = setUp(options);
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: sampleOrder });
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle("A-1001", "succeeded")));
    return { world, runner, result: await run };
  }

  it("paid but the warehouse refuses for good: the execution fails with PaidNotShippedError and operations are alerted", async () => {
    const { world, runner, result } = await paidRun({ warehouseRefuses: true });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("PaidNotShippedError");
    expect(result.getError().errorMessage).toBe(
      "Order A-1001 is paid (pay_A10011) but could not be shipped (warehouse answered 422: KETTLE-01 is discontinued); ship it or refund it by hand",
    );
    // The providers' records: captured, not shipped, not cancelled, one alert naming the problem.
    expect(world.paymentOf("A-1001")!.status).toBe("succeeded");
    expect(world.shipments).toEqual([]);
    expect(world.cancellations).toEqual([]);
    expect(world.alerts).toEqual([
      { orderId: "A-1001", kind: "PaidNotShippedError", problem: result.getError().errorMessage },
    ]);
    // A 422 is not retried: one attempt at the warehouse.
    expect(runner.getOperation("fulfil-order").getStepDetails()?.attempt).toBe(1);
  });

  it("when the alert fails too, the execution's error says so", async () => {
    const { world, result } = await paidRun({ warehouseRefuses: true, alertsDown: true });

    expect(result.getError().errorType).toBe("PaidNotShippedError");
    expect(result.getError().errorMessage).toContain(
      "(the alert to operations failed too: look at this execution)",
    );
    expect(world.alerts).toEqual([]);
  });

  it.each([
    ["cannot reach the provider", "unreachable"],
    ["answers JSON null (not the dependency's undefined for none)", "null"],
    ["answers a record without a payment id ({ status: 'succeeded' })", "no-payment-id"],
  ] as const)(
    "the look-up %s: never read as paid or unpaid; PaymentUnsettledError, alerted, nothing shipped",
    async (_label, lookUpAnswer) => {
      const { world, runner } = setUp({ lookUpAnswer }, testConfig(webhookNeverComes));
      const result = await runner.run({ payload: sampleOrder });

      expect(result.getError().errorType).toBe("PaymentUnsettledError");
      // The provider's record: the payment is still open, and nothing shipped against it.
      expect(world.paymentOf("A-1001")!.status).toBe("pending");
      expect(world.shipments).toEqual([]);
      expect(world.cancellations).toEqual([]);
      expect(world.alerts.map((alert) => alert.kind)).toEqual(["PaymentUnsettledError"]);
      expect(runner.getOperation("look-up-payment").getStepDetails()?.attempt).toBe(6);
    },
  );

  it("the order store refuses the cancellation for good: OrderNotCancelledError, alerted, never reported CANCELLED", async () => {
    const { world, runner } = setUp({ declines: true, orderStoreRefuses: true });
    const result = await runner.run({ payload: sampleOrder });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("OrderNotCancelledError");
    expect(result.getError().errorMessage).toContain("cancel it by hand");
    expect(world.cancellations).toEqual([]);
    expect(world.shipments).toEqual([]);
    expect(world.alerts.map((alert) => alert.kind)).toEqual(["OrderNotCancelledError"]);
    // A 4xx is not retried.
    expect(runner.getOperation("cancel-order").getStepDetails()?.attempt).toBe(1);
  });

  it("a custom dependency that throws a 1 MB, multi-line error, and declines with a 1 MB reason: the checkpoints, the execution's error and the alert stay bounded and on one line", async () => {
    const world = simulatedWorld();
    const dump = `order store exploded\n\u001b[2J${"  at frame (store.js:1:1)\n".repeat(40_000)}`;
    const runner = createRunner<CheckoutOutcome>({
      handler: createHandler(
        {
          ...world.deps,
          payments: {
            ...world.deps.payments,
            requestPayment: async () => {
              throw new PaymentDeclinedError(`insufficient funds\r\n${"x".repeat(1024 * 1024)}`);
            },
          },
          orders: {
            cancel: async () => {
              throw new ClientError(dump);
            },
          },
        },
        testConfig(),
      ),
      cloudOutput: "EntryPointsHandlerAliasArn",
    });
    const result = await runner.run({ payload: sampleOrder });

    // The declined reason, as checkpointed and as sent to the order store: bounded, one line.
    const request = runner.getOperation("request-payment").getStepDetails()?.result as { reason: string };
    expect(request.reason).toMatch(/^insufficient funds x+… \(\d+ more characters\)$/);
    expect(request.reason.length).toBeLessThanOrEqual(250);
    // The order store's error, as its step stored it, and the execution's error that quotes it.
    const stepError = runner.getOperation("cancel-order").getStepDetails()?.error;
    expect(stepError?.errorType).toBe("ClientError");
    expect(stepError?.errorMessage).toMatch(/^order store exploded \[2J {2}at frame/);
    expect(result.getError().errorType).toBe("OrderNotCancelledError");
    for (const text of [stepError?.errorMessage, result.getError().errorMessage]) {
      expect(text!.length).toBeLessThanOrEqual(700);
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u001f]/);
    }
    // A ClientError is still a refusal: not retried. The alert carries the same bounded problem.
    expect(runner.getOperation("cancel-order").getStepDetails()?.attempt).toBe(1);
    expect(world.alerts).toEqual([
      { orderId: "A-1001", kind: "OrderNotCancelledError", problem: result.getError().errorMessage },
    ]);
  });

  it("a payment that can be neither confirmed nor voided: PaymentUnsettledError, alerted, nothing shipped or cancelled", async () => {
    const { world, runner } = setUp({ voidUnavailable: true }, testConfig(webhookNeverComes));
    const result = await runner.run({ payload: sampleOrder });

    expect(result.getError().errorType).toBe("PaymentUnsettledError");
    expect(result.getError().errorMessage).toContain("settle it with the provider by key A-1001:payment");
    expect(world.paymentOf("A-1001")!.status).toBe("pending");
    expect(world.shipments).toEqual([]);
    expect(world.cancellations).toEqual([]);
    expect(world.alerts.map((alert) => alert.kind)).toEqual(["PaymentUnsettledError"]);
    expect(runner.getOperation("void-payment").getStepDetails()?.attempt).toBe(6);
    // A void without a clear answer voids nothing we know of: the record by key, read again, still says open.
    expect(result.getError().errorMessage).toContain("the provider still reports the payment open");
    expect(result.getOperations().map((operation) => operation.getName())).toContain("look-up-after-void");
  });
});

describe("bad input fails before any side effect", () => {
  it.each([
    ["no order id", { ...sampleOrder, orderId: undefined }, "orderId is required"],
    ["no items", { ...sampleOrder, items: [] }, "items must have at least one item"],
    ["a negative amount", { ...sampleOrder, amountCents: -5 }, "amountCents must be positive"],
    ["an unknown field", { ...sampleOrder, discount: 10 }, "order has unknown fields: discount"],
  ])("%s", async (_label, payload, problem) => {
    const { world, runner } = setUp();
    const result = await runner.run({ payload });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidCheckoutOrderError");
    expect(result.getError().errorMessage).toContain(problem);
    expect(result.getOperations()).toHaveLength(0);
    expect(world.paymentRequests).toEqual([]);
    expect(world.registry.size).toBe(0);
  });
});
