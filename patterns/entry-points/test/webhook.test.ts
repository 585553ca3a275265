import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import { createWebhookHandler, signPayload, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../src";
import { paymentEvent, signedDelivery } from "../src/demo";
import { bodyOf, frontDoorWorld, orderNumbered } from "./front-door";
import { TEST_SECRET } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the webhook completes callbacks of local executions and reads the simulated providers.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const NOW = 1_800_000_000;

function setUp(secret: () => Promise<string | undefined> = async () => TEST_SECRET) {
  const door = frontDoorWorld();
  const logs: string[] = [];
  const webhook = createWebhookHandler({
    secret,
    callbacks: door.world.deps.callbacks,
    executions: door.executions,
    nowSeconds: () => NOW,
    log: (message, fields) => logs.push(JSON.stringify({ message, ...fields })),
  });
  return { ...door, webhook, logs };
}

type Tamper = (delivery: ReturnType<typeof signedDelivery>) => void;

describeLocal("the signature is checked before anything else, and fails closed", () => {
  it.each<[string, { secret?: string; timestamp?: number; tamper?: Tamper }, number, string]>([
    ["valid", {}, 200, "resumed the checkout"],
    [
      "signed with the wrong secret",
      { secret: "whsec_someone_else" },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "a tampered body",
      { tamper: (d) => (d.body = d.body!.replace('"amountCents":8950', '"amountCents":1')) },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "a stale timestamp (6 minutes old)",
      { timestamp: NOW - 360 },
      401,
      "Signature rejected: timestamp too old",
    ],
    [
      "a future timestamp (6 minutes ahead)",
      { timestamp: NOW + 360 },
      401,
      "Signature rejected: timestamp in the future",
    ],
    [
      "a timestamp changed after signing",
      { tamper: (d) => (d.headers[TIMESTAMP_HEADER] = String(NOW - 1)) },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "no signature header",
      { tamper: (d) => delete d.headers[SIGNATURE_HEADER] },
      401,
      "Signature rejected: missing signature",
    ],
    [
      "no timestamp header",
      { tamper: (d) => delete d.headers[TIMESTAMP_HEADER] },
      401,
      "Signature rejected: missing timestamp",
    ],
    [
      "an empty signature",
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = "") },
      401,
      "Signature rejected: missing signature",
    ],
    [
      "a malformed timestamp",
      { tamper: (d) => (d.headers[TIMESTAMP_HEADER] = "soon") },
      401,
      "Signature rejected: malformed timestamp",
    ],
    [
      "a signature of another length",
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = "v1=abc") },
      401,
      "Signature rejected: signature does not match",
    ],
  ])("%s", async (_label, delivery, status, message) => {
    const { world, executions, startWaiting, webhook, logs } = setUp();
    const order = orderNumbered(status === 200 ? 1 : 2);
    const name = await startWaiting(order);
    const body = JSON.stringify(world.settle(order.orderId, "succeeded"));
    const request = signedDelivery(delivery.secret ?? TEST_SECRET, body, delivery.timestamp ?? NOW);
    delivery.tamper?.(request);

    const response = await webhook(request);

    expect(response.statusCode).toBe(status);
    expect(JSON.stringify(bodyOf(response))).toContain(message);
    if (status === 200) {
      const result = await executions.finished(name);
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(world.shipments).toHaveLength(1);
    } else {
      // Nothing resumed: the execution still waits on its callback, nothing shipped or cancelled.
      expect((await executions.describe(name))?.status).toBe("RUNNING");
      expect(executions.operation(name, "payment-webhook").getStatus()).toBe("STARTED");
      expect(world.shipments).toEqual([]);
      // Let the execution end, so the test leaves nothing running.
      await executions.completeCallback(world.registry.get(order.orderId)!, body);
      await executions.finished(name);
    }
    // The callback id is a bearer token: in no log line and no response.
    const callbackId = world.registry.get(order.orderId)!;
    expect(logs.join("\n")).not.toContain(callbackId);
    expect(response.body).not.toContain(callbackId);
  });

  it.each<[string, () => Promise<string | undefined>, number]>([
    ["no secret configured", async () => undefined, 503],
    ["an empty secret", async () => "", 503],
    [
      "the secret cannot be read",
      async () => {
        throw new Error("AccessDeniedException");
      },
      503,
    ],
  ])("%s: every delivery is refused, even one signed with an empty key", async (_label, secret, status) => {
    const { world, executions, startWaiting, webhook } = setUp(secret);
    const order = orderNumbered(3);
    const name = await startWaiting(order);
    const body = JSON.stringify(world.settle(order.orderId, "succeeded"));

    const response = await webhook(signedDelivery("", body, NOW));

    expect(response.statusCode).toBe(status);
    expect((await executions.describe(name))?.status).toBe("RUNNING");
    await executions.completeCallback(world.registry.get(order.orderId)!, body);
    await executions.finished(name);
  });
});

describeLocal("deliveries come at least once and in any order: repeats are harmless", () => {
  it("a replayed delivery, then out-of-order events: one resume, one shipment", async () => {
    const { world, executions, startWaiting, webhook } = setUp();
    const order = orderNumbered(4);
    const name = await startWaiting(order);
    const succeeded = JSON.stringify(world.settle(order.orderId, "succeeded"));
    const payment = world.paymentOf(order.orderId)!;

    const first = await webhook(signedDelivery(TEST_SECRET, succeeded, NOW));
    await executions.finished(name);
    const replayed = await webhook(signedDelivery(TEST_SECRET, succeeded, NOW));
    const late = await webhook(
      signedDelivery(TEST_SECRET, JSON.stringify(paymentEvent(payment, "payment.processing", 2)), NOW),
    );
    const contradicting = await webhook(
      signedDelivery(TEST_SECRET, JSON.stringify(paymentEvent(payment, "payment.failed", 3)), NOW),
    );

    expect(
      [first, replayed, late, contradicting].map((response) => [
        response.statusCode,
        bodyOf(response).action,
      ]),
    ).toEqual([
      [200, "resumed the checkout"],
      [200, "already settled: nothing to do"],
      [200, "ignored: not a final event"],
      [200, "already settled: nothing to do"],
    ]);
    expect(await executions.describe(name)).toMatchObject({
      status: "SUCCEEDED",
      result: { status: "FULFILLED" },
    });
    expect(world.shipments).toHaveLength(1);
    expect(world.cancellations).toEqual([]);
  });

  it("a processing event before the final one resumes nothing", async () => {
    const { world, executions, startWaiting, webhook } = setUp();
    const order = orderNumbered(5);
    const name = await startWaiting(order);
    const payment = world.paymentOf(order.orderId)!;

    const early = await webhook(
      signedDelivery(TEST_SECRET, JSON.stringify(paymentEvent(payment, "payment.processing")), NOW),
    );
    expect(early.statusCode).toBe(200);
    expect((await executions.describe(name))?.status).toBe("RUNNING");

    const final = await webhook(
      signedDelivery(TEST_SECRET, JSON.stringify(world.settle(order.orderId, "failed", 2)), NOW),
    );
    expect(bodyOf(final).action).toBe("resumed the checkout");
    expect(await executions.finished(name).then((result) => result.getResult())).toMatchObject({
      status: "CANCELLED",
    });
  });
});

describeLocal("bad deliveries: a clear status, nothing resumed", () => {
  it.each<[string, (secret: string) => ReturnType<typeof signedDelivery>, number, string]>([
    [
      "a payment for an unknown order",
      (secret) =>
        signedDelivery(
          secret,
          JSON.stringify(
            paymentEvent(
              { paymentId: "pay_ghost1", orderId: "Z-404", amountCents: 100, currency: "EUR" },
              "payment.succeeded",
            ),
          ),
          NOW,
        ),
      404,
      "No payment is waiting for order Z-404",
    ],
    [
      "a body that is not JSON",
      (secret) => signedDelivery(secret, "paid!", NOW),
      400,
      "the event is not JSON",
    ],
    [
      "an event of a type we handle, with no data",
      (secret) =>
        signedDelivery(secret, JSON.stringify({ id: "evt_abcd", type: "payment.succeeded", data: {} }), NOW),
      400,
      "data.paymentId is required",
    ],
    [
      "a body over 16 KB",
      (secret) => signedDelivery(secret, JSON.stringify({ padding: "x".repeat(17 * 1024) }), NOW),
      413,
      "larger than 16384 bytes",
    ],
    [
      "a GET",
      (secret) => ({ ...signedDelivery(secret, "{}", NOW), requestContext: { http: { method: "GET" } } }),
      405,
      "Use POST",
    ],
  ])("%s", async (_label, build, status, message) => {
    const { world, executions, startWaiting, webhook } = setUp();
    const order = orderNumbered(6);
    const name = await startWaiting(order);

    const response = await webhook(build(TEST_SECRET));

    expect(response.statusCode).toBe(status);
    expect(response.body).toContain(message);
    expect((await executions.describe(name))?.status).toBe("RUNNING");
    await executions.completeCallback(
      world.registry.get(order.orderId)!,
      JSON.stringify(world.settle(order.orderId, "failed")),
    );
    await executions.finished(name);
  });

  it("signPayload signs the timestamp and the body together", () => {
    expect(signPayload("k", 1, "{}")).not.toBe(signPayload("k", 2, "{}"));
    expect(signPayload("k", 1, "{}")).toMatch(/^v1=[0-9a-f]{64}$/);
  });
});
