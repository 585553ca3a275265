import { createHandler } from "./index";
import { ClientError, Reservation, TransientServiceError, type OrderDeps } from "./deps";
import type { Order } from "./input";

/**
 * The simulated outside world, for `pnpm demo steps` and the tests: in-memory services that record every
 * call and fail on request. Each service answers a repeated idempotency key with its first answer, as a
 * real one must.
 */
export type Fault = "transient" | "client";

export interface WorldOptions {
  /** Faults each service raises on its first calls, in order, before it starts to succeed. */
  faults?: Partial<Record<keyof OrderDeps, Fault[]>>;
  /** A service that fails on every call. */
  down?: keyof OrderDeps;
}

export interface Call {
  service: keyof OrderDeps;
  idempotencyKey: string;
  outcome: "ok" | Fault;
}

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const answered = new Map<string, unknown>();
  const pending = new Map(
    Object.entries(options.faults ?? {}).map(([service, faults]) => [service, [...faults]]),
  );

  const serve = async <T>(service: keyof OrderDeps, idempotencyKey: string, answer: () => T): Promise<T> => {
    const fault = options.down === service ? "transient" : pending.get(service)?.shift();
    calls.push({ service, idempotencyKey, outcome: fault ?? "ok" });
    if (fault === "transient") throw new TransientServiceError(`${service} is unavailable (503)`, 503);
    if (fault === "client") throw new ClientError(`${service} rejected the request (422)`, 422);
    if (!answered.has(idempotencyKey)) answered.set(idempotencyKey, answer());
    return answered.get(idempotencyKey) as T;
  };

  const deps: OrderDeps = {
    inventory: {
      reserve: ({ orderId, idempotencyKey }) =>
        serve("inventory", idempotencyKey, () =>
          Reservation.of(`res-${orderId}`, new Date(Date.now() + 15 * 60 * 1000)),
        ),
    },
    payments: {
      charge: ({ orderId, idempotencyKey }) =>
        serve("payments", idempotencyKey, () => ({ chargeId: `ch-${orderId}` })),
    },
    shipping: {
      createShipment: ({ orderId, idempotencyKey }) =>
        serve("shipping", idempotencyKey, () => ({ carrier: "UPS", trackingNumber: `1Z-${orderId}` })),
    },
    notifier: {
      send: ({ idempotencyKey }) => serve("notifier", idempotencyKey, () => undefined),
    },
  };

  /** How many times a service was called, retries included. */
  const callsTo = (service: keyof OrderDeps) => calls.filter((call) => call.service === service).length;
  return { deps, calls, callsTo };
}

export const sampleOrder: Order = {
  orderId: "order-1042",
  customer: { id: "cust-7", email: "ada@example.com" },
  items: [
    { sku: "MUG-BLUE", quantity: 2, unitPriceCents: 1250 },
    { sku: "TEE-L", quantity: 1, unitPriceCents: 2400 },
  ],
  currency: "EUR",
  shipTo: {
    name: "Ada Lovelace",
    line1: "12 St James's Sq",
    city: "London",
    postalCode: "SW1Y 4JH",
    country: "GB",
  },
};

/** What `pnpm demo steps` runs: the inventory service is down for the first call, so a retry shows. */
export const demo = {
  title: "Order fulfilment: retries, at-most-once charge, child context, a 3-day wait",
  event: sampleOrder,
  createHandler: () => createHandler(simulatedWorld({ faults: { inventory: ["transient"] } }).deps),
};
