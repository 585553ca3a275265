import type { Answer, Received } from "./providers";

/**
 * Each pattern's outside services as its README's contract describes them, answering the happy path: what a
 * deployed function would meet once its URLs point at real providers. `settings` is the `patternEnvironment` a
 * user gives `cdk deploy` (each service under its own base path, some with a trailing slash and some without).
 */
export interface World {
  settings: (url: string) => Record<string, string>;
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

export const sagaWorld: World = {
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
