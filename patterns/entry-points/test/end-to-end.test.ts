import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import { createApiHandler, createWebhookHandler } from "../src";
import { sampleOrder, signedDelivery } from "../src/demo";
import { bodyOf, frontDoorWorld, httpRequest } from "./front-door";
import { TEST_SECRET } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the whole front door against a local durable execution and the simulated providers.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

describeLocal("end to end through the local Executions", () => {
  it("start twice with one key, poll the status, deliver the signed webhook, read the result", async () => {
    const { world, executions } = frontDoorWorld();
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

    // The provider captures the payment and sends its signed webhook.
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
});
