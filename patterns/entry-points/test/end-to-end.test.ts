import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import { createApiHandler, createWebhookHandler } from "../src";
import { paymentEvent, sampleOrder, signedDelivery } from "../src/demo";
import { bodyOf, frontDoorWorld, httpRequest } from "./front-door";
import { TEST_SECRET } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the whole front door against a local durable execution and the simulated providers.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

describeLocal("end to end through the local Executions", () => {
  it("start twice with one key, poll the status, deliver the signed webhook, read the result", async () => {
    const { world, executions, suspended } = frontDoorWorld();
    const api = createApiHandler({ executions });
    const webhook = createWebhookHandler({
      secret: async () => TEST_SECRET,
      callbacks: world.deps.callbacks,
      executions,
      log: () => undefined,
    });
    const body = JSON.stringify(sampleOrder);

    // The client starts the checkout, and retries (a lost response, say) with the same order.
    const first = await api(httpRequest("POST", "/orders", body));
    const second = await api(httpRequest("POST", "/orders", body));
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(bodyOf(first)).toEqual({
      orderId: "A-1001",
      status: "RUNNING",
      statusUrl: "/orders/A-1001",
      repeated: false,
    });
    expect(bodyOf(second)).toMatchObject({ statusUrl: "/orders/A-1001", repeated: true });
    expect(first.headers).toMatchObject({ location: "/orders/A-1001" });

    // Polling: running while the workflow waits for the provider's webhook.
    await executions.operation("order-A-1001", "payment-webhook").waitForData();
    await executions.operation("order-A-1001", "request-payment").waitForData();
    const polled = await api(httpRequest("GET", "/orders/A-1001"));
    expect([polled.statusCode, bodyOf(polled)]).toEqual([200, { orderId: "A-1001", status: "RUNNING" }]);

    // The provider captures the payment and sends its signed webhook, once the workflow has suspended on it.
    await suspended();
    const event = world.settle("A-1001", "succeeded");
    const delivered = await webhook(
      signedDelivery(TEST_SECRET, JSON.stringify(event), Math.floor(Date.now() / 1000)),
    );
    expect([delivered.statusCode, bodyOf(delivered).action]).toEqual([200, "resumed the checkout"]);

    const result = await executions.finished("order-A-1001");
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const done = await api(httpRequest("GET", "/orders/A-1001"));
    expect(bodyOf(done)).toEqual({
      orderId: "A-1001",
      status: "SUCCEEDED",
      outcome: {
        orderId: "A-1001",
        status: "FULFILLED",
        paymentId: event.data.paymentId,
        shipmentId: world.shipments[0]!.shipmentId,
        confirmedBy: "webhook",
      },
    });
    // One execution for two requests: one payment requested, one shipment, and the replay happened.
    expect(world.paymentRequests).toHaveLength(1);
    expect(world.payments.size).toBe(1);
    expect(world.shipments).toHaveLength(1);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    // The status never shows internals.
    expect(done.body).not.toMatch(/arn:|callback|stack/i);
  });

  it("the callback id reaches no provider, warehouse, order store, alert, result, status, answer or log line", async () => {
    const { world, executions } = frontDoorWorld();
    const logs: string[] = [];
    const console = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
      jest.spyOn(globalThis.console, method).mockImplementation((...args: unknown[]) => {
        logs.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
      }),
    );
    try {
      const api = createApiHandler({ executions });
      const webhook = createWebhookHandler({
        secret: async () => TEST_SECRET,
        callbacks: world.deps.callbacks,
        executions,
        log: (message, fields) => logs.push(JSON.stringify({ message, ...fields })),
      });
      await api(httpRequest("POST", "/orders", JSON.stringify(sampleOrder)));
      await executions.operation("order-A-1001", "request-payment").waitForData();
      const body = JSON.stringify(world.settle("A-1001", "succeeded"));
      const now = Math.floor(Date.now() / 1000);
      const answers = [
        await webhook(signedDelivery(TEST_SECRET, body, now)),
        await webhook(signedDelivery(TEST_SECRET, body, now)),
      ];
      const result = await executions.finished("order-A-1001");
      const status = await api(httpRequest("GET", "/orders/A-1001"));

      // Only the registry holds it; every other record, answer and line is checked.
      const callbackId = world.registry.get("A-1001")!;
      expect(callbackId).toBeTruthy();
      const everything = JSON.stringify({
        payments: [...world.payments.values()],
        paymentRequests: world.paymentRequests,
        shipments: world.shipments,
        cancellations: world.cancellations,
        alerts: world.alerts,
        result: result.getResult(),
        status,
        answers,
        logs,
      });
      expect(everything).not.toContain(callbackId);
      expect(world.shipments).toHaveLength(1);
    } finally {
      console.forEach((spy) => spy.mockRestore());
    }
  });

  it("the provider's webhook arrives before its answer to the payment request (an instant payment): shipped once, no void", async () => {
    const answers: string[] = [];
    const door = frontDoorWorld({
      beforePaymentReply: async (payment) => {
        payment.status = "succeeded";
        const event = paymentEvent(payment, "payment.succeeded");
        const delivered = await webhook(
          signedDelivery(TEST_SECRET, JSON.stringify(event), Math.floor(Date.now() / 1000)),
        );
        answers.push(String(bodyOf(delivered).action));
      },
    });
    const webhook = createWebhookHandler({
      secret: async () => TEST_SECRET,
      callbacks: door.world.deps.callbacks,
      executions: door.executions,
      log: () => undefined,
    });
    await door.executions.start("order-A-1001", sampleOrder);
    const result = await door.executions.finished("order-A-1001");

    // The callback existed and was registered before the payment was asked for, so the early event found it.
    expect(answers).toEqual(["resumed the checkout"]);
    expect(result.getResult()).toMatchObject({ status: "FULFILLED", confirmedBy: "webhook" });
    expect(door.world.shipments).toHaveLength(1);
    expect(door.world.voids).toEqual([]);
    expect(door.world.cancellations).toEqual([]);
  });
});
