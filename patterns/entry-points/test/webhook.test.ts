import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import {
  createWebhookHandler,
  signPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type WebhookDeps,
} from "../src";
import { paymentEvent, signedDelivery } from "../src/demo";
import { bodyOf, frontDoorWorld, orderNumbered } from "./front-door";
import { TEST_SECRET } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the webhook completes callbacks of local executions and reads the simulated providers.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const NOW = 1_800_000_000;

/** The webhook on a world with a waiting checkout; `faults` wraps the registry or Lambda to make them fail. */
function setUp(
  secret: () => Promise<string | undefined> = async () => TEST_SECRET,
  faults: {
    callbacks?: (real: WebhookDeps["callbacks"]) => WebhookDeps["callbacks"];
    executions?: (real: WebhookDeps["executions"]) => WebhookDeps["executions"];
  } = {},
) {
  const door = frontDoorWorld();
  const logs: string[] = [];
  const webhook = createWebhookHandler({
    secret,
    callbacks: faults.callbacks?.(door.world.deps.callbacks) ?? door.world.deps.callbacks,
    executions: faults.executions?.(door.executions) ?? door.executions,
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
    [
      "a timestamp in milliseconds",
      { timestamp: NOW * 1000 },
      401,
      "Signature rejected: malformed timestamp",
    ],
    [
      "the signature upper-cased",
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = d.headers[SIGNATURE_HEADER]!.toUpperCase()) },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "the signature of an empty body",
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = signPayload(TEST_SECRET, NOW, "")) },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "the signature without its v1= prefix",
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = d.headers[SIGNATURE_HEADER]!.replace(/^v1=/, "")) },
      401,
      "Signature rejected: signature does not match",
    ],
    [
      "two signatures joined by a comma, both forged",
      {
        tamper: (d) =>
          (d.headers[SIGNATURE_HEADER] =
            `v1=${"0".repeat(64)},${signPayload("whsec_attacker", NOW, d.body!)}`),
      },
      401,
      "Signature rejected: signature does not match",
    ],
    ...[
      ["non-hex, of the right length", `v1=${"z".repeat(64)}`],
      ["multi-byte, of the right length in characters", `v1=${"é".repeat(64)}`],
      ["10 KB long", `v1=${"a".repeat(10_000)}`],
      ["only the prefix", "v1="],
      ["of a scheme we do not know", `v0=${"0".repeat(64)}`],
    ].map(([what, signature]): [string, { tamper: Tamper }, number, string] => [
      `a garbage signature, ${what}`,
      { tamper: (d) => (d.headers[SIGNATURE_HEADER] = signature) },
      401,
      "Signature rejected: signature does not match",
    ]),
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
    ["an empty body", (secret) => signedDelivery(secret, "", NOW), 400, "the event is empty"],
    ["JSON null", (secret) => signedDelivery(secret, "null", NOW), 400, "event must be an object"],
    [
      "an extra field (a callback id smuggled in)",
      (secret) =>
        signedDelivery(
          secret,
          JSON.stringify({
            ...paymentEvent(ghost("A-2006"), "payment.succeeded"),
            callbackId: "cb-smuggled",
          }),
          NOW,
        ),
      400,
      "event has unknown fields: callbackId",
    ],
    [
      "a merchant reference of __proto__",
      (secret) =>
        signedDelivery(secret, JSON.stringify(paymentEvent(ghost("__proto__"), "payment.succeeded")), NOW),
      404,
      "No payment is waiting for order __proto__",
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

  it.each<
    [
      string,
      WebhookDeps["callbacks"]["find"] | undefined,
      WebhookDeps["executions"]["completeCallback"] | undefined,
    ]
  >([
    [
      "the registry cannot be read",
      async () => {
        throw Object.assign(new Error("Throughput exceeded"), {
          name: "ProvisionedThroughputExceededException",
        });
      },
      undefined,
    ],
    [
      "Lambda throttles the completion, quoting the callback id",
      undefined,
      async (callbackId) => {
        throw Object.assign(new Error(`Rate exceeded for callback ${callbackId}`), {
          name: "TooManyRequestsException",
        });
      },
    ],
    [
      "Lambda fails the completion, quoting the callback id",
      undefined,
      async (callbackId) => {
        throw Object.assign(new Error(`Internal error completing ${callbackId}`), {
          name: "ServiceException",
        });
      },
    ],
  ])(
    "%s: 503, so the provider delivers again; the callback id in no answer and no log line",
    async (_label, find, complete) => {
      let failing = true;
      const { world, executions, startWaiting, webhook, logs } = setUp(async () => TEST_SECRET, {
        callbacks: (real) => ({ find: (orderId) => (failing && find ? find(orderId) : real.find(orderId)) }),
        executions: (real) => ({
          completeCallback: (id, result) =>
            failing && complete ? complete(id, result) : real.completeCallback(id, result),
        }),
      });
      const order = orderNumbered(7);
      const name = await startWaiting(order);
      const body = JSON.stringify(world.settle(order.orderId, "succeeded"));

      const refused = await webhook(signedDelivery(TEST_SECRET, body, NOW));
      expect(refused.statusCode).toBe(503);
      expect((await executions.describe(name))?.status).toBe("RUNNING");
      // The provider's next delivery finds everything working again: the checkout resumes, once.
      failing = false;
      const delivered = await webhook(signedDelivery(TEST_SECRET, body, NOW));
      expect(bodyOf(delivered).action).toBe("resumed the checkout");
      await executions.finished(name);
      expect(world.shipments).toHaveLength(1);
      const callbackId = world.registry.get(order.orderId)!;
      expect(JSON.stringify({ refused, logs })).not.toContain(callbackId);
    },
  );

  it("signPayload signs the timestamp and the body together", () => {
    expect(signPayload("k", 1, "{}")).not.toBe(signPayload("k", 2, "{}"));
    expect(signPayload("k", 1, "{}")).toMatch(/^v1=[0-9a-f]{64}$/);
  });
});

/** A payment the provider never made for us: for events whose only job is to be refused. */
const ghost = (orderId: string) => ({ paymentId: "pay_ghost1", orderId, amountCents: 100, currency: "EUR" });

describeLocal("what the webhook does not handle is acknowledged, and forged deliveries learn nothing", () => {
  it("a signed event of a type this checkout does not handle (payment.refunded) is 200, logged, resumes nothing", async () => {
    const { world, executions, startWaiting, webhook, logs } = setUp();
    const order = orderNumbered(8);
    const name = await startWaiting(order);
    const event = {
      ...paymentEvent(world.paymentOf(order.orderId)!, "payment.succeeded"),
      type: "payment.refunded",
    };

    const response = await webhook(signedDelivery(TEST_SECRET, JSON.stringify(event), NOW));

    // A non-2xx would be retried by the provider for days, and may get the endpoint disabled.
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response).action).toBe("ignored: payment.refunded is not handled here");
    expect(logs.join("\n")).toContain("payment.refunded");
    expect((await executions.describe(name))?.status).toBe("RUNNING");
    await webhook(signedDelivery(TEST_SECRET, JSON.stringify(world.settle(order.orderId, "failed")), NOW));
    await executions.finished(name);
  });

  it("a forged delivery gets the same 401 whether or not an order waits, reads no registry, logs none of its body", async () => {
    let reads = 0;
    const { world, executions, startWaiting, webhook, logs } = setUp(async () => TEST_SECRET, {
      callbacks: (real) => ({ find: (orderId) => ((reads += 1), real.find(orderId)) }),
    });
    const order = orderNumbered(9);
    const name = await startWaiting(order);
    const waiting = JSON.stringify(world.settle(order.orderId, "succeeded")).replace(
      '"EUR"',
      '"EUR\\n2026-12-01T00:00:00Z INFO resumed MARKER-INJECT"',
    );
    const unknown = JSON.stringify(paymentEvent(ghost("B-9999"), "payment.succeeded"));

    const answers = await Promise.all(
      [waiting, unknown, "{not json"].map((body) => webhook(signedDelivery("whsec_attacker", body, NOW))),
    );

    expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401]);
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
    expect(reads).toBe(0);
    expect(logs.join("\n")).not.toContain("MARKER-INJECT");
    expect(JSON.stringify({ answers, logs })).not.toContain(TEST_SECRET);
    expect((await executions.describe(name))?.status).toBe("RUNNING");
    await webhook(signedDelivery(TEST_SECRET, JSON.stringify(world.settle(order.orderId, "succeeded")), NOW));
    await executions.finished(name);
  });
});

describeLocal("the verified bytes, whatever their encoding, are what the workflow reads", () => {
  it.each<[string, (delivery: ReturnType<typeof signedDelivery>) => void]>([
    [
      "header names in the sender's case (API Gateway REST)",
      (d) => {
        d.headers = Object.fromEntries(
          Object.entries(d.headers).map(([key, value]) => [
            key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
            value,
          ]),
        );
      },
    ],
    [
      "a base64-encoded body (a Function URL with a non-text content type)",
      (d) => {
        d.body = Buffer.from(d.body!).toString("base64");
        d.isBase64Encoded = true;
        d.headers["content-type"] = "application/octet-stream";
      },
    ],
  ])("%s: verified and resumed", async (_label, reshape) => {
    const { world, executions, startWaiting, webhook } = setUp();
    const order = orderNumbered(10);
    const name = await startWaiting(order);
    const request = signedDelivery(
      TEST_SECRET,
      JSON.stringify(world.settle(order.orderId, "succeeded")),
      NOW,
    );
    reshape(request);

    expect(bodyOf(await webhook(request)).action).toBe("resumed the checkout");
    expect((await executions.finished(name)).getResult()).toMatchObject({ status: "FULFILLED" });
    expect(world.shipments).toHaveLength(1);
  });

  it("a body with emoji, a right-to-left override and NUL verifies on its UTF-8 bytes and reaches the workflow unchanged", async () => {
    const { world, executions, startWaiting, webhook } = setUp();
    const order = orderNumbered(11);
    const name = await startWaiting(order);
    const failureReason = "Karte abgelehnt 💳 \u202e\u0000 ü";
    const event = world.settle(order.orderId, "failed");
    const body = JSON.stringify({ ...event, data: { ...event.data, failureReason } });

    expect(bodyOf(await webhook(signedDelivery(TEST_SECRET, body, NOW))).action).toBe("resumed the checkout");
    await executions.finished(name);
    // The order store's record carries the provider's reason, character for character.
    expect(world.cancellations).toEqual([
      { orderId: order.orderId, reason: `payment failed: ${failureReason}` },
    ]);
  });
});
