import type { OrderItem } from "./input";

/**
 * The outside world of the order workflow. Every call here is a side effect, so the workflow makes each
 * one inside a step. Each request carries an idempotency key derived from the order id: when a step is
 * retried (at-least-once), the service sees the same key and must not act twice.
 */
export interface Inventory {
  reserve(request: { orderId: string; items: OrderItem[]; idempotencyKey: string }): Promise<Reservation>;
}
export interface Payments {
  charge(request: {
    orderId: string;
    customerId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ chargeId: string }>;
}
export interface Shipping {
  createShipment(request: {
    orderId: string;
    reservationId: string;
    shipTo: { name: string; line1: string; city: string; postalCode: string; country: string };
    idempotencyKey: string;
  }): Promise<{ trackingNumber: string; carrier: string }>;
}
export interface Notifier {
  send(request: {
    to: string;
    template: string;
    data: Record<string, string>;
    idempotencyKey: string;
  }): Promise<void>;
}
export interface OrderDeps {
  inventory: Inventory;
  payments: Payments;
  shipping: Shipping;
  notifier: Notifier;
}

/**
 * A stock reservation. It is a class with a Date, so the default JSON serdes would hand back a plain object
 * with a string after a replay; the workflow checkpoints it with createClassSerdesWithDates instead.
 * The SDK builds it with `new Reservation()` and then assigns fields, hence the no-argument constructor.
 */
export class Reservation {
  reservationId = "";
  expiresAt = new Date(0);

  static of(reservationId: string, expiresAt: Date): Reservation {
    return Object.assign(new Reservation(), { reservationId, expiresAt });
  }

  isExpiredAt(instant: Date): boolean {
    return instant.getTime() >= this.expiresAt.getTime();
  }
}

/** A service said no for good (4xx): retrying the same request cannot help. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A service was unavailable, throttled us or timed out (5xx, 429, network): the same request may succeed later.
 * Its arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as `new () => Error`.
 */
export class TransientServiceError extends Error {
  override readonly name = "TransientServiceError";
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpDepsConfig {
  inventoryUrl: string;
  paymentsUrl: string;
  shippingUrl: string;
  notificationsUrl: string;
  /** Sent as a bearer token to every service, if set. */
  apiToken?: string;
  /** Abort a request after this long; an abort counts as transient. */
  timeoutMs?: number;
}

/**
 * The real dependencies: JSON over HTTP to four services, each with an `Idempotency-Key` header.
 * The configuration is resolved on each call (so inside the step that makes it), never at replay time.
 */
export function createHttpDeps(config: () => HttpDepsConfig = configFromEnv): OrderDeps {
  const call = async <T>(
    service: keyof HttpDepsConfig,
    path: string,
    body: object,
    idempotencyKey: string,
  ) => {
    const settings = config();
    const baseUrl = settings[service];
    if (typeof baseUrl !== "string" || baseUrl === "") {
      throw new ClientError(`No URL configured for ${service}`, 0);
    }
    return postJson<T>(new URL(path, baseUrl).toString(), body, {
      idempotencyKey,
      apiToken: settings.apiToken,
      timeoutMs: settings.timeoutMs ?? 10_000,
    });
  };
  return {
    inventory: {
      reserve: async ({ idempotencyKey, ...request }) => {
        const body = await call<{ reservationId: string; expiresAt: string }>(
          "inventoryUrl",
          "reservations",
          request,
          idempotencyKey,
        );
        return Reservation.of(body.reservationId, new Date(body.expiresAt));
      },
    },
    payments: {
      charge: ({ idempotencyKey, ...request }) => call("paymentsUrl", "charges", request, idempotencyKey),
    },
    shipping: {
      createShipment: ({ idempotencyKey, ...request }) =>
        call("shippingUrl", "shipments", request, idempotencyKey),
    },
    notifier: {
      send: async ({ idempotencyKey, ...request }) => {
        await call("notificationsUrl", "messages", request, idempotencyKey);
      },
    },
  };
}

export function configFromEnv(): HttpDepsConfig {
  return {
    inventoryUrl: process.env.INVENTORY_API_URL ?? "",
    paymentsUrl: process.env.PAYMENTS_API_URL ?? "",
    shippingUrl: process.env.SHIPPING_API_URL ?? "",
    notificationsUrl: process.env.NOTIFICATIONS_API_URL ?? "",
    apiToken: process.env.ORDER_API_TOKEN,
  };
}

async function postJson<T>(
  url: string,
  body: object,
  options: { idempotencyKey: string; apiToken?: string; timeoutMs: number },
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": options.idempotencyKey,
        ...(options.apiToken ? { authorization: `Bearer ${options.apiToken}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new TransientServiceError(`POST ${url} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (response.status === 429 || response.status >= 500) {
    throw new TransientServiceError(`POST ${url} answered ${response.status}: ${text}`, response.status);
  }
  if (!response.ok) {
    throw new ClientError(`POST ${url} answered ${response.status}: ${text}`, response.status);
  }
  return (text === "" ? undefined : JSON.parse(text)) as T;
}
