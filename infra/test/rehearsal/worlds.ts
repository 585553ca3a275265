import type { ConverseRequest } from "./aws-stand-ins";
import type { Answer, Received } from "./providers";

/**
 * Each pattern's outside services as its README's contract describes them, answering the happy path: what a
 * deployed function would meet once its URLs point at real providers. `settings` is the `patternEnvironment` a
 * user gives `cdk deploy` (each service under its own base path, some with a trailing slash and some without).
 */
export interface World {
  settings: (url: string) => Record<string, string>;
  /** Secret settings whose value is not a token (a webhook URL with its key in it), by setting name. */
  secrets?: (url: string) => Record<string, string>;
  answer: Answer;
}

const keyed = (
  received: Received[],
  route: Received,
  answer: (index: number) => unknown,
): [number, unknown] => {
  // A provider that honours idempotency keys answers a repeated key with what it did the first time.
  const earlier = received.filter(
    (r) => r.method === route.method && r.path === route.path && r.idempotencyKey === route.idempotencyKey,
  );
  return [201, answer(received.indexOf(earlier[0]!) + 1)];
};

const lookUpByKey = (
  received: Received[],
  postPath: string,
  query: string,
  found: (index: number) => unknown,
): [number, unknown] => {
  const asked = new URLSearchParams(query).get("idempotencyKey") ?? "";
  const index = received.findIndex(
    (r) => r.method === "POST" && r.path === postPath && r.idempotencyKey === asked,
  );
  return index < 0
    ? [404, { error: "nothing under this key", idempotencyKey: asked }]
    : [200, found(index + 1)];
};

export const stepsWorld: World = {
  settings: (url) => ({
    INVENTORY_API_URL: `${url}/inventory`,
    PAYMENTS_API_URL: `${url}/payments/`,
    SHIPPING_API_URL: `${url}/shipping`,
    NOTIFICATIONS_API_URL: `${url}/notifications/`,
  }),
  answer: (request, received) => {
    const { method, path, query } = request;
    const charge = () => ({ chargeId: "ch-1", amountCents: 4900, currency: "EUR" });
    if (method === "POST" && path === "/inventory/reservations") {
      return keyed(received, request, (n) => ({
        reservationId: `res-${n}`,
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      }));
    }
    if (method === "POST" && path === "/payments/charges") return [201, charge()];
    if (method === "GET" && path === "/payments/charges") return lookUpByKey(received, path, query, charge);
    if (method === "POST" && path === "/shipping/shipments")
      return keyed(received, request, (n) => ({ trackingNumber: `TRK-${n}`, carrier: "ACME" }));
    if (method === "POST" && path === "/notifications/messages") return [202, {}];
    return undefined;
  },
};

/** The payment gateway's own token: the payment function reads it from its own secret, in its own environment. */
export const GATEWAY_TOKEN = "rehearsal-gateway-token-91c2";

export const sagaWorld: World = {
  secrets: () => ({ PAYMENT_GATEWAY_TOKEN: GATEWAY_TOKEN }),
  settings: (url) => ({
    FLIGHTS_API_URL: `${url}/flights`,
    HOTELS_API_URL: `${url}/hotels/`,
    CARS_API_URL: `${url}/cars`,
    PAYMENTS_API_URL: `${url}/payments/`,
    ITINERARIES_API_URL: `${url}/itineraries`,
    OPERATIONS_API_URL: `${url}/operations/`,
    PAYMENT_GATEWAY_URL: `${url}/gateway`,
  }),
  answer: (request, received) => {
    const { method, path, query } = request;
    const reservation = /^\/(flights|hotels|cars)\/reservations$/.exec(path);
    if (reservation && method === "POST")
      return keyed(received, request, (n) => ({ reservationId: `${reservation[1]}-${n}` }));
    if (reservation && method === "GET") {
      return lookUpByKey(received, path, query, (n) => ({
        reservationId: `${reservation[1]}-${n}`,
        status: "held",
      }));
    }
    if (method === "POST" && path === "/gateway/charges")
      return keyed(received, request, (n) => ({ chargeId: `ch-${n}` }));
    if (method === "GET" && path === "/gateway/charges") {
      return lookUpByKey(received, path, query, (n) => ({
        chargeId: `ch-${n}`,
        status: "charged",
        amountCents: 248_000,
        currency: "GBP",
      }));
    }
    if (method === "GET" && path === "/payments/charges") {
      return lookUpByKey(received, "/gateway/charges", query, (n) => ({
        chargeId: `ch-${n}`,
        status: "charged",
        amountCents: 248_000,
        currency: "GBP",
      }));
    }
    if (method === "GET" && path === "/itineraries/itineraries") return [404, { error: "no itinerary" }];
    if (method === "POST" && path === "/itineraries/itineraries")
      return keyed(received, request, (n) => ({ confirmationNumber: `CONF-${n}` }));
    if (method === "POST" && path === "/operations/alerts") return [202, {}];
    return undefined;
  },
};

export const mapParallelWorld: World = {
  settings: (url) => ({
    CRM_API_URL: `${url}/crm`,
    LEDGER_API_URL: `${url}/ledger/`,
    TAX_REGISTRY_API_URL: `${url}/tax`,
    INVOICING_API_URL: `${url}/invoicing/`,
    FX_ATLAS_URL: `${url}/fx/atlas`,
    FX_BEACON_URL: `${url}/fx/beacon/`,
    FX_CEDAR_URL: `${url}/fx/cedar`,
  }),
  answer: (request, received) => {
    const { method, path } = request;
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    if (method === "GET" && parts[0] === "crm" && parts[1] === "customers") {
      return [
        200,
        {
          customerId: parts[2],
          legalName: `Customer ${parts[2]} Ltd`,
          billingEmail: `billing@${parts[2]}.example.com`,
          country: "GB",
        },
      ];
    }
    if (method === "GET" && parts[0] === "ledger" && parts[1] === "accounts") {
      return [200, { customerId: parts[2], balanceCents: 125_000, overdueInvoices: 0 }];
    }
    if (method === "GET" && parts[0] === "tax" && parts[1] === "vat")
      return [200, { vatNumber: parts[2], valid: true }];
    if (method === "GET" && parts[0] === "fx" && parts[2] === "rates") {
      const rates: Record<string, number> = { atlas: 1.149, beacon: 1.151, cedar: 1.15 };
      return [
        200,
        {
          requestId: request.headers?.["x-request-id"],
          from: parts[3],
          to: parts[4],
          rate: rates[parts[1]!],
        },
      ];
    }
    if (method === "POST" && path === "/invoicing/invoices") {
      // The receipt repeats what was first sent under this key.
      const first = received.find((r) => r.path === path && r.idempotencyKey === request.idempotencyKey)!;
      const invoice = first.body as Record<string, unknown>;
      return [200, { ...invoice, messageId: `msg-${String(invoice.invoiceId)}` }];
    }
    return undefined;
  },
};

export const waitCallbackWorld: World = {
  settings: (url) => ({
    APPROVAL_PAGE_URL: "https://approvals.example.com/decide",
    PURCHASING_API_URL: `${url}/purchasing`,
    SUPPLIER_API_URL: `${url}/supplier/`,
  }),
  // A chat webhook URL carries its key in the path: a secret, never plain configuration.
  secrets: (url) => ({ APPROVAL_CHAT_WEBHOOK_URL: `${url}/chat/hooks/T0K3N-in-the-path` }),
  answer: (request, received) => {
    const { method, path } = request;
    if (method === "POST" && path === "/chat/hooks/T0K3N-in-the-path") return [200, { ok: true }];
    if (method === "POST" && path === "/purchasing/purchase-requests")
      return keyed(received, request, (n) => ({ reference: `PUR-${n}` }));
    if (method === "POST" && /^\/purchasing\/purchase-requests\/[^/]+\/decision$/.test(path))
      return [200, {}];
    if (method === "POST" && path === "/supplier/orders")
      return keyed(received, request, (n) => ({ jobId: `job-${n}` }));
    if (method === "GET" && /^\/supplier\/orders\/[^/]+$/.test(path)) {
      const checks = received.filter((r) => r.method === "GET" && r.path === path).length;
      return [200, checks >= 2 ? { state: "SHIPPED", trackingNumber: "TRK-9" } : { state: "IN_PROGRESS" }];
    }
    return undefined;
  },
};

/** The refunds the back office paid, from its own record of `POST refunds`: one per idempotency key. */
const refundsPaid = (received: Received[]) => {
  const firsts = received.filter(
    (r, index) =>
      r.method === "POST" &&
      r.path === "/back-office/refunds" &&
      received.findIndex((o) => o.path === r.path && o.idempotencyKey === r.idempotencyKey) === index,
  );
  return firsts.map((r) => {
    const body = r.body as { amountCents: number; currency: string };
    return {
      refundId: `re-${received.indexOf(r) + 1}`,
      amountCents: body.amountCents,
      currency: body.currency,
      idempotencyKey: r.idempotencyKey,
    };
  });
};

/** The support back office of agent-loop (src/deps.ts routes, src/back-office-answers.ts shapes), under a base path. */
export const agentLoopWorld: World = {
  settings: (url) => ({ BACK_OFFICE_URL: `${url}/back-office` }),
  answer: (request, received) => {
    const { method, path } = request;
    const order = {
      orderId: "order-1042",
      customerId: "cust-7",
      status: "delivered",
      placedOn: "2026-11-02",
      items: [{ sku: "MUG-BLUE", name: "Blue stoneware mug", quantity: 2, unitPriceCents: 1250 }],
      totalCents: 2500,
      currency: "EUR",
    };
    if (method === "GET" && path === "/back-office/orders/order-1042") return [200, order];
    if (method === "GET" && path === "/back-office/orders/order-1042/refunds")
      return [200, { refunds: refundsPaid(received) }];
    if (method === "POST" && path === "/back-office/refund-policy") {
      const { reason } = request.body as { reason: string };
      return reason === "changed-mind"
        ? [
            200,
            {
              eligible: false,
              maxRefundCents: 0,
              explanation: "Change-of-mind returns close after 14 days.",
            },
          ]
        : [
            200,
            {
              eligible: true,
              maxRefundCents: order.totalCents,
              explanation: `A ${reason} order is refunded in full.`,
            },
          ];
    }
    if (method === "POST" && path === "/back-office/refunds") {
      const paid = refundsPaid(received).find((refund) => refund.idempotencyKey === request.idempotencyKey);
      return [201, { refundId: paid!.refundId }];
    }
    if (method === "POST" && path === "/back-office/approvals") return [202, {}];
    if (method === "POST" && path === "/back-office/alerts") return [202, {}];
    return undefined;
  },
};

type ConverseBlock = {
  text?: string;
  toolUse?: { toolUseId: string; name: string; input: unknown };
  toolResult?: {
    toolUseId: string;
    status?: string;
    content: { json?: Record<string, unknown>; text?: string }[];
  };
};

/**
 * agent-loop's support script (`supportScript` in patterns/agent-loop/src/demo.ts), played in Converse's wire
 * format: look the order up, check the policy, ask for the refund the policy allows, then tell the customer.
 * Each turn reads the tool results the function sent back, as the model would.
 */
export function supportModelReply(request: ConverseRequest, turn: number): unknown {
  const messages = (request.body.messages ?? []) as { role: string; content: ConverseBlock[] }[];
  const question = messages[0]?.content[0]?.text ?? "";
  const results = (messages.at(-1)?.content ?? []).flatMap((block) =>
    block.toolResult ? [block.toolResult] : [],
  );
  const last = results[0];
  const json = last?.status === "success" ? last.content[0]?.json : undefined;
  const reply = (text: string, toolUse?: { name: string; input: unknown }) => {
    const content: ConverseBlock[] = [{ text }];
    if (toolUse) content.push({ toolUse: { toolUseId: `tooluse-${turn}-1`, ...toolUse } });
    return {
      output: { message: { role: "assistant", content } },
      stopReason: toolUse ? "tool_use" : "end_turn",
      usage: {
        inputTokens: Math.ceil(JSON.stringify(request.body).length / 4),
        outputTokens: Math.ceil(JSON.stringify(content).length / 4),
        totalTokens: 0,
      },
      metrics: { latencyMs: 3 },
    };
  };
  switch (turn) {
    case 1:
      return reply("Let me look at that order.", {
        name: "lookup_order",
        input: { orderId: /order-\d+/.exec(question)?.[0] ?? "unknown" },
      });
    case 2:
      if (!json) return reply("I could not find that order. Could you check the order number?");
      return reply("Found it. Let me check what our refund policy says.", {
        name: "check_refund_policy",
        input: {
          orderId: json.orderId,
          reason: /changed my mind/i.test(question) ? "changed-mind" : "damaged",
        },
      });
    case 3:
      if (json?.eligible !== true) return reply("I'm sorry, I cannot refund this order.");
      return reply("You are covered. I'm asking a colleague to approve the refund.", {
        name: "issue_refund",
        input: {
          orderId: json.orderId,
          reason: json.reason,
          amountCents: json.refundableNowCents,
          noteForApprover: "Items arrived damaged",
        },
      });
    case 4:
      if (!json) return reply(`I could not refund your order: ${last?.content[0]?.text ?? "no answer"}`);
      return reply(
        `Done: ${(Number(json.amountCents) / 100).toFixed(2)} ${String(json.currency)} is on its way back to you (reference ${String(json.refundId)}).`,
      );
    default:
      return undefined;
  }
}

/** The payment id entry-points' provider gives an order: `pay_` and the order id's letters and digits. */
export const paymentIdOf = (orderId: string) => `pay_${orderId.replace(/[^A-Za-z0-9]/g, "")}`;

/** The payment provider's webhook signing secret, as put into the stack's WebhookSecret after deploying. */
export const WEBHOOK_SECRET = "whsec_rehearsal_4f1d9c";

/** entry-points' four services (payments, warehouse, orders, alerts), each under its own base path. */
export const entryPointsWorld: World = {
  // The webhook's secret is in WEBHOOK_SECRET_ARN (the setting "WEBHOOK"); the checkout's token is a plain one.
  secrets: () => ({ WEBHOOK: WEBHOOK_SECRET }),
  settings: (url) => ({
    PAYMENTS_API_URL: `${url}/payments`,
    WAREHOUSE_API_URL: `${url}/warehouse/`,
    ORDERS_API_URL: `${url}/orders`,
    ALERTS_API_URL: `${url}/alerts/`,
  }),
  answer: (request, received) => {
    const { method, path } = request;
    if (method === "POST" && path === "/payments/payments") {
      const { orderId } = request.body as { orderId: string };
      return [201, { paymentId: paymentIdOf(orderId), status: "pending" }];
    }
    if (method === "POST" && path === "/warehouse/shipments")
      return keyed(received, request, (n) => ({ shipmentId: `shp-${n}` }));
    if (method === "POST" && /^\/orders\/orders\/[^/]+\/cancel$/.test(path)) return [200, {}];
    if (method === "POST" && path === "/alerts/alerts") return [202, {}];
    return undefined;
  },
};
