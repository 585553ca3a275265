import { ClientError, type CallbackRegistry, type CheckoutDeps } from "./deps";
import { createApiHandler } from "./front-door/api";
import type { Executions } from "./front-door/executions";
import type { HttpRequest } from "./front-door/http";
import { startLocalServer } from "./front-door/local-server";
import { signPayload, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./front-door/signature";
import { createWebhookHandler } from "./front-door/webhook";
import { createHandler } from "./index";
import type { CheckoutOrder, PaymentEvent } from "./input";
import {
  PaymentDeclinedError,
  PaymentInDoubtError,
  ProviderUnavailableError,
  TransientServiceError,
  type ProviderRecord,
} from "./payment-outcome";
import type { WorkflowConfig } from "./workflow";

/**
 * The simulated outside world, for `pnpm demo entry-points` and the tests. Each provider keeps its own
 * records (payments with their status, shipments, cancellations, the callback registry), and the tests
 * assert on those, not on what the workflow says about itself. A repeated idempotency key gets the first
 * answer again, as a real provider gives.
 */
export interface WorldOptions {
  /** The provider declines the card at once (402). */
  declines?: boolean;
  /**
   * How the first payment requests fail before one gets through: "unavailable" (429/503, nothing done) or
   * "in-doubt-created" (the provider made the payment, then the answer was lost) or "in-doubt-lost". The
   * provider made the payment in the "created-..." ones too, and then: "created-then-reset" (a plain
   * ECONNRESET from the HTTP client), "created-then-unavailable" (a 503 from its load balancer),
   * "created-empty-reply" (a 2xx without a payment id).
   */
  requestFaults?: Array<
    | "unavailable"
    | "in-doubt-created"
    | "in-doubt-lost"
    | "created-then-reset"
    | "created-then-unavailable"
    | "created-empty-reply"
  >;
  /** Runs after the provider created the payment and before it answers (an instant payment's webhook, say). */
  beforePaymentReply?: (payment: PaymentRecord) => Promise<void>;
  /** The look-up fails or answers oddly: unreachable every time, JSON `null`, or a record without a payment id. */
  lookUpAnswer?: "unreachable" | "null" | "no-payment-id";
  /** The provider captures the payment on its own between the look-up and the void (a void that comes too late). */
  capturesBeforeVoid?: boolean;
  /** The warehouse refuses the shipment for good (422: an item was discontinued). */
  warehouseRefuses?: boolean;
  /** The warehouse ships, then the reply to the first request is lost with this error (a plain ETIMEDOUT, say). */
  shipmentReplyLost?: () => Error;
  /** The order store cancels, then the reply to the first request is lost with this error. */
  cancellationReplyLost?: () => Error;
  /** The order store refuses every cancellation (a 4xx). */
  orderStoreRefuses?: boolean;
  /** The provider's void endpoint stays unavailable. */
  voidUnavailable?: boolean;
  /** The alerting endpoint is down as well. */
  alertsDown?: boolean;
}

export interface PaymentRecord {
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  status: "pending" | "succeeded" | "failed" | "voided";
}

export function simulatedWorld(options: WorldOptions = {}) {
  const payments = new Map<string, PaymentRecord>();
  const paymentRequests: Array<{ idempotencyKey: string; outcome: string }> = [];
  const voids: string[] = [];
  const shipments: Array<{ orderId: string; shipmentId: string; items: CheckoutOrder["items"] }> = [];
  /** Every ship and cancel request the services received, by idempotency key, answered or not. */
  const shipmentRequests: string[] = [];
  const cancellations: Array<{ orderId: string; reason: string }> = [];
  const cancellationRequests: string[] = [];
  const registry = new Map<string, string>();
  const alerts: Array<{ orderId: string; kind: string; problem: string }> = [];
  const faults = [...(options.requestFaults ?? [])];

  const createPayment = (
    order: { orderId: string; amountCents: number; currency: string },
    idempotencyKey: string,
  ) => {
    const existing = payments.get(idempotencyKey);
    if (existing) return existing;
    const record: PaymentRecord = {
      paymentId: simulatedPaymentId(order.orderId, payments.size + 1),
      ...order,
      idempotencyKey,
      status: "pending",
    };
    payments.set(idempotencyKey, record);
    return record;
  };

  const callbacks: CallbackRegistry = {
    register: async ({ orderId, callbackId }) => {
      registry.set(orderId, callbackId);
    },
    find: async (orderId) => registry.get(orderId),
  };

  const deps: CheckoutDeps = {
    payments: {
      requestPayment: async ({ idempotencyKey, ...order }) => {
        const fault = faults.shift();
        paymentRequests.push({
          idempotencyKey,
          outcome: fault ?? (options.declines ? "declined" : "accepted"),
        });
        if (fault === "unavailable") throw new ProviderUnavailableError("payment provider answered 503", 503);
        if (fault === "in-doubt-lost") throw new PaymentInDoubtError("payment request timed out");
        if (options.declines) throw new PaymentDeclinedError("insufficient funds");
        const payment = createPayment(order, idempotencyKey);
        if (fault === "in-doubt-created")
          throw new PaymentInDoubtError("payment request timed out after the provider acted");
        if (fault === "created-then-reset")
          throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
        if (fault === "created-then-unavailable")
          throw new ProviderUnavailableError("payment provider's load balancer answered 503", 503);
        if (fault === "created-empty-reply") return {} as { paymentId: string };
        await options.beforePaymentReply?.(payment);
        return { paymentId: payment.paymentId };
      },
      lookUpPayment: async ({ idempotencyKey }): Promise<ProviderRecord> => {
        if (options.lookUpAnswer === "unreachable")
          throw new PaymentInDoubtError("payment look-up timed out");
        if (options.lookUpAnswer === "null") return null as unknown as ProviderRecord;
        const record = payments.get(idempotencyKey);
        if (record && options.lookUpAnswer === "no-payment-id")
          return { status: "succeeded" } as unknown as ProviderRecord;
        if (!record) return undefined;
        if (record.status === "voided") return { status: "failed", paymentId: record.paymentId };
        return { status: record.status, paymentId: record.paymentId };
      },
      voidPayment: async ({ idempotencyKey }) => {
        if (options.voidUnavailable) throw new ProviderUnavailableError("payment provider answered 503", 503);
        voids.push(idempotencyKey);
        const record = payments.get(idempotencyKey);
        if (!record) return { status: "not-found" };
        if (options.capturesBeforeVoid && record.status === "pending") record.status = "succeeded";
        if (record.status === "succeeded") return { status: "succeeded" };
        record.status = "voided";
        return { status: "voided" };
      },
    },
    callbacks,
    warehouse: {
      ship: async ({ orderId, items, idempotencyKey }) => {
        shipmentRequests.push(idempotencyKey);
        if (options.warehouseRefuses)
          throw new ClientError("warehouse answered 422: KETTLE-01 is discontinued", 422);
        const existing = shipments.find((shipment) => shipment.orderId === orderId);
        if (existing) return { shipmentId: existing.shipmentId };
        const shipmentId = `shp_${idempotencyKey.replace(/[^A-Za-z0-9]/g, "")}`;
        shipments.push({ orderId, shipmentId, items });
        if (options.shipmentReplyLost) throw options.shipmentReplyLost();
        return { shipmentId };
      },
    },
    orders: {
      cancel: async ({ orderId, reason, idempotencyKey }) => {
        cancellationRequests.push(idempotencyKey);
        if (options.orderStoreRefuses)
          throw new ClientError(`order store answered 409: order ${orderId} cannot be cancelled`, 409);
        if (!cancellations.some((cancellation) => cancellation.orderId === orderId)) {
          cancellations.push({ orderId, reason });
          if (options.cancellationReplyLost) throw options.cancellationReplyLost();
        }
      },
    },
    alerts: {
      raise: async ({ orderId, kind, problem }) => {
        if (options.alertsDown) throw new TransientServiceError("alerts answered 503", 503);
        if (!alerts.some((alert) => alert.orderId === orderId)) alerts.push({ orderId, kind, problem });
      },
    },
  };

  /** The provider settles a payment (its customer finished 3-D Secure, say) and produces the webhook event. */
  const settle = (orderId: string, outcome: "succeeded" | "failed", eventNumber = 1): PaymentEvent => {
    const record = [...payments.values()].find((payment) => payment.orderId === orderId);
    if (!record) throw new Error(`The provider has no payment for ${orderId}`);
    if (record.status === "pending") record.status = outcome;
    return paymentEvent(
      record,
      outcome === "succeeded" ? "payment.succeeded" : "payment.failed",
      eventNumber,
    );
  };

  const paymentOf = (orderId: string) =>
    [...payments.values()].find((payment) => payment.orderId === orderId);
  return {
    deps,
    payments,
    paymentRequests,
    voids,
    shipments,
    shipmentRequests,
    cancellations,
    cancellationRequests,
    registry,
    alerts,
    settle,
    paymentOf,
  };
}

/** The ids the simulated provider hands out: the n-th payment it creates, for this order. */
export const simulatedPaymentId = (orderId: string, n: number) =>
  `pay_${orderId.replace(/[^A-Za-z0-9]/g, "")}${n}`;

export function paymentEvent(
  payment: Pick<PaymentRecord, "paymentId" | "orderId" | "amountCents" | "currency">,
  type: PaymentEvent["type"],
  eventNumber = 1,
): PaymentEvent {
  return {
    id: `evt_${payment.paymentId.replace(/^pay_/, "")}x${eventNumber}`,
    type,
    data: {
      paymentId: payment.paymentId,
      merchantReference: payment.orderId,
      amountCents: payment.amountCents,
      currency: payment.currency as PaymentEvent["data"]["currency"],
      ...(type === "payment.failed" ? { failureReason: "card_declined_by_issuer" } : {}),
    },
  };
}

/** A webhook delivery as the provider sends it: the raw body, signed with the shared secret. */
export function signedDelivery(
  secret: string,
  body: string,
  timestamp: number,
  headers: Record<string, string | undefined> = {},
): HttpRequest {
  return {
    rawPath: "/webhooks/payments",
    requestContext: { http: { method: "POST" } },
    isBase64Encoded: false,
    body,
    headers: {
      "content-type": "application/json",
      [SIGNATURE_HEADER]: signPayload(secret, timestamp, body),
      [TIMESTAMP_HEADER]: String(timestamp),
      ...headers,
    },
  };
}

export const sampleOrder: CheckoutOrder = {
  orderId: "A-1001",
  customerId: "c-ada",
  items: [
    { sku: "KETTLE-01", quantity: 1 },
    { sku: "MUG-SET-4", quantity: 2 },
  ],
  amountCents: 8_950,
  currency: "EUR",
};

/** Callback timeouts run on real time in the local runner (time skipping does not skip them): keep it short. */
export const demoConfig: WorkflowConfig = { paymentTimeout: { seconds: 30 } };

/**
 * What the demo runner hands the front door (the demo runner's side is in tools/demo; a pattern never imports
 * it): the run's one durable execution behind this pattern's own `Executions` seam, the run's event, a way to
 * wait until the workflow reaches an operation, and a line on the timeline.
 */
export interface DemoDoor extends Executions {
  readonly event: unknown;
  reached(operation: string, status: "STARTED" | "COMPLETED"): Promise<void>;
  ended(): Promise<void>;
  show(who: string, what: string): void;
}

/** The demo's webhook signing secret, shared by the front door and the simulated provider. */
const DEMO_WEBHOOK_SECRET = "whsec_demo_local_only";

/** The simulated world of the demo's current run: createHandler makes it, the front door drives the same one. */
let demoWorld = simulatedWorld();

/**
 * The front door as the demo shows it: the real API and webhook handlers on a local HTTP server on 127.0.0.1,
 * driven with fetch as the customer's client and the payment provider would. Every request and its answer goes
 * on the timeline; none carries a callback id (only the registry holds it).
 */
export async function driveFrontDoor(door: DemoDoor, world = demoWorld): Promise<void> {
  const server = await startLocalServer({
    api: createApiHandler({ executions: door }),
    webhook: createWebhookHandler({
      secret: async () => DEMO_WEBHOOK_SECRET,
      callbacks: world.deps.callbacks,
      executions: door,
      log: () => undefined,
    }),
  });
  door.show(
    "front door",
    `listens on ${server.url} (POST /orders, GET /orders/{orderId}, POST /webhooks/payments)`,
  );
  const send = async (who: string, what: string, path: string, init: RequestInit = {}) => {
    door.show(who, `sends ${init.method ?? "GET"} ${path}${what ? `: ${what}` : ""}`);
    const response = await fetch(`${server.url}${path}`, init);
    const text = await response.text();
    const location = response.headers.get("location");
    door.show(
      "front door",
      `answers ${response.status} ${text}${location ? ` (location: ${location})` : ""}`,
    );
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  const deliver = (what: string, body: string, secret: string, timestamp: number) =>
    send("payment provider", what, "/webhooks/payments", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signPayload(secret, timestamp, body),
        [TIMESTAMP_HEADER]: String(timestamp),
      },
      body,
    });

  try {
    // The customer's client starts the checkout, then sends it again (its first answer was lost, say).
    const order = JSON.stringify(door.event);
    const post = { method: "POST", headers: { "content-type": "application/json" }, body: order };
    const started = await send("client", "the order", "/orders", post);
    if (started.status !== 202) return;
    await send("client", "the same order again (its first answer was lost)", "/orders", post);
    const statusUrl = String(started.body.statusUrl);
    await send("client", "the status URL from the 202", statusUrl);

    // The workflow has asked for the payment and waits for the provider's webhook, suspended.
    await door.reached("request-payment", "COMPLETED");
    await door.reached("payment-webhook", "STARTED");
    await send("client", "the status URL again, while the checkout waits for the webhook", statusUrl);

    // The customer finishes 3-D Secure; the provider captures the payment and delivers its signed event.
    const orderId = String(started.body.orderId);
    const event = world.settle(orderId, "succeeded");
    const body = JSON.stringify(event);
    const now = Math.floor(Date.now() / 1000);
    await deliver(`${event.type} ${event.id}, signed with another secret`, body, "not-the-secret", now);
    await deliver(`${event.type} ${event.id}, signed`, body, DEMO_WEBHOOK_SECRET, now);
    await deliver(`the same delivery again (deliveries are at least once)`, body, DEMO_WEBHOOK_SECRET, now);

    await door.ended();
    await send("client", "the status URL, once the checkout has ended", statusUrl);
  } finally {
    await server.close();
    door.show("front door", `closed ${server.url}`);
  }
}

/**
 * What `pnpm demo entry-points` runs: the front door on 127.0.0.1 takes the order (202 and a status URL), a
 * repeat finds the same execution, the status is RUNNING while the workflow waits for the webhook, a forged
 * delivery is refused, the signed one completes the callback and the execution resumes and ships the order, a
 * replayed delivery changes nothing, and the status shows the outcome.
 */
export const demo = {
  title:
    "Checkout through the front door: 202 and a status URL, a repeat, status polls, the signed webhook resumes the execution, the order ships",
  event: sampleOrder,
  createHandler: () => {
    demoWorld = simulatedWorld();
    return createHandler(demoWorld.deps, demoConfig);
  },
  frontDoor: (door: DemoDoor) => driveFrontDoor(door),
};
