import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { CheckoutOrder } from "./input";
import { onFirstUse } from "./on-first-use";
import {
  ClientError,
  PaymentDeclinedError,
  PaymentInDoubtError,
  ProviderUnavailableError,
  TransientServiceError,
  type ProviderRecord,
} from "./payment-outcome";

/**
 * The outside world of the checkout. Every call is a side effect, so the workflow makes each one inside a
 * step, with an idempotency key derived from the order id: a retried step sends the same key again.
 */
export interface PaymentProvider {
  /** Asks for a payment. The provider answers at once (pending) and later sends a signed webhook with the result. */
  requestPayment(request: {
    orderId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ paymentId: string }>;
  /** The provider's record of the payment made with this key, if any. */
  lookUpPayment(request: { idempotencyKey: string }): Promise<ProviderRecord>;
  /** Voids the open payment made with this key. "succeeded": too late, it was captured; "not-found": none was made. */
  voidPayment(request: { idempotencyKey: string }): Promise<{ status: "voided" | "succeeded" | "not-found" }>;
}

/**
 * How the webhook finds the waiting callback: the workflow writes order id -> callback id here, in a step,
 * before it asks for the payment (so no webhook can arrive first). The provider only ever sees the order id.
 * The callback id is a bearer token: it stays in this store, readable only by the webhook function.
 */
export interface CallbackRegistry {
  register(entry: { orderId: string; callbackId: string }): Promise<void>;
  find(orderId: string): Promise<string | undefined>;
}

export interface Warehouse {
  ship(request: {
    orderId: string;
    items: CheckoutOrder["items"];
    idempotencyKey: string;
  }): Promise<{ shipmentId: string }>;
}

export interface OrderStore {
  /** Marks the order cancelled and tells the customer why. */
  cancel(request: { orderId: string; reason: string; idempotencyKey: string }): Promise<void>;
}

/** Where a person sees what the workflow could not finish: money taken without goods, a payment left open. */
export interface Alerts {
  raise(alert: { orderId: string; kind: string; problem: string; idempotencyKey: string }): Promise<void>;
}

export interface CheckoutDeps {
  payments: PaymentProvider;
  callbacks: CallbackRegistry;
  warehouse: Warehouse;
  orders: OrderStore;
  alerts: Alerts;
}

export { ClientError };

export interface HttpDepsConfig {
  paymentsUrl: string;
  warehouseUrl: string;
  ordersUrl: string;
  /** Your alerting endpoint (an incident tool's events API): `POST alerts`. */
  alertsUrl: string;
  /** The DynamoDB table of order id -> callback id (partition key "orderId"). */
  callbackTable: string;
  timeoutMs?: number;
}

export function configFromEnv(): HttpDepsConfig {
  return {
    paymentsUrl: process.env.PAYMENTS_API_URL ?? "",
    warehouseUrl: process.env.WAREHOUSE_API_URL ?? "",
    ordersUrl: process.env.ORDERS_API_URL ?? "",
    alertsUrl: process.env.ALERTS_API_URL ?? "",
    callbackTable: process.env.CALLBACK_TABLE_NAME ?? "",
  };
}

/** Entries outlive the payment timeout by far, then DynamoDB's TTL removes them. */
const REGISTRY_TTL_SECONDS = 7 * 24 * 60 * 60;

/**
 * The DynamoDB client module, evaluated the first time the registry is used rather than when a handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const dynamoDbModule = onFirstUse(() => import("@aws-sdk/client-dynamodb"));
const lazyDynamoDbClient = onFirstUse(async () => new (await dynamoDbModule()).DynamoDBClient({}));

/**
 * The callback registry on DynamoDB. A retried register writes the same item again: harmless. Without a
 * `client` (tests pass one), the sandbox's own is made on first use.
 */
export function dynamoCallbackRegistry(
  tableName: () => string,
  client?: Pick<DynamoDBClient, "send">,
): CallbackRegistry {
  const sender = async () => client ?? (await lazyDynamoDbClient());
  const table = () => {
    const name = tableName();
    if (!name) throw new ClientError("No callback table configured (CALLBACK_TABLE_NAME)");
    return name;
  };
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      // A missing setting is ours to fix, not worth retrying.
      if (error instanceof ClientError) throw error;
      // Never the item in the message: it holds the callback id.
      throw new TransientServiceError(`callback registry: ${(error as Error).name}`);
    }
  };
  return {
    register: async ({ orderId, callbackId }) => {
      const expiresAt = Math.floor(Date.now() / 1000) + REGISTRY_TTL_SECONDS;
      await call(async () => {
        const TableName = table();
        const { PutItemCommand } = await dynamoDbModule();
        return (await sender()).send(
          new PutItemCommand({
            TableName,
            Item: {
              orderId: { S: orderId },
              callbackId: { S: callbackId },
              expiresAt: { N: String(expiresAt) },
            },
          }),
        );
      });
    },
    find: async (orderId) => {
      const output = await call(async () => {
        const TableName = table();
        const { GetItemCommand } = await dynamoDbModule();
        return (await sender()).send(
          new GetItemCommand({ TableName, Key: { orderId: { S: orderId } }, ConsistentRead: true }),
        );
      });
      return output.Item?.callbackId?.S;
    },
  };
}

/**
 * The real dependencies: the provider, warehouse and order store as JSON over HTTP, the registry on DynamoDB.
 * Configuration is read on each call, so inside the step that makes it, never at import or replay time.
 */
export function createHttpDeps(config: () => HttpDepsConfig = configFromEnv): CheckoutDeps {
  const url = (base: "paymentsUrl" | "warehouseUrl" | "ordersUrl" | "alertsUrl", path: string) => {
    const value = config()[base];
    if (!value) throw new ClientError(`No ${base} configured`);
    return new URL(path, value).toString();
  };
  const send = (method: "GET" | "POST", target: string, idempotencyKey?: string, body?: unknown) =>
    sendJson(method, target, { body, idempotencyKey, timeoutMs: config().timeoutMs ?? 10_000 });

  return {
    payments: {
      requestPayment: async ({ idempotencyKey, ...payment }) => {
        const response = await send("POST", url("paymentsUrl", "payments"), idempotencyKey, payment);
        if (response.status === 402) {
          const reason = response.json?.reason;
          throw new PaymentDeclinedError(typeof reason === "string" ? reason : "declined");
        }
        classifyPaymentFailure(response, "payment request");
        // Answers are input: a 2xx without a usable payment id may still have created one, so it is in doubt.
        const paymentId = response.json?.paymentId;
        if (typeof paymentId !== "string" || !/^pay_[A-Za-z0-9]{4,64}$/.test(paymentId)) {
          throw new PaymentInDoubtError("payment request answered without a payment id");
        }
        return { paymentId };
      },
      lookUpPayment: async ({ idempotencyKey }) => {
        const response = await send(
          "GET",
          url("paymentsUrl", `payments/by-key/${encodeURIComponent(idempotencyKey)}`),
        );
        if (response.status === 404) return undefined;
        classifyPaymentFailure(response, "payment look-up");
        const { status, paymentId } = response.json ?? {};
        if (
          (status !== "pending" && status !== "succeeded" && status !== "failed") ||
          typeof paymentId !== "string"
        ) {
          // Neither paid nor not paid: retried, and never read as either.
          throw new PaymentInDoubtError("payment look-up answered something that is not a payment record");
        }
        return { status, paymentId };
      },
      voidPayment: async ({ idempotencyKey }) => {
        const response = await send(
          "POST",
          url("paymentsUrl", `payments/by-key/${encodeURIComponent(idempotencyKey)}/void`),
          `${idempotencyKey}:void`,
        );
        if (response.status === 404) return { status: "not-found" };
        // 409: the payment was captured before the void arrived.
        if (response.status === 409) return { status: "succeeded" };
        classifyPaymentFailure(response, "payment void");
        return { status: "voided" };
      },
    },
    callbacks: dynamoCallbackRegistry(() => config().callbackTable),
    warehouse: {
      ship: async ({ idempotencyKey, ...shipment }) => {
        const response = await send("POST", url("warehouseUrl", "shipments"), idempotencyKey, shipment);
        classifyServiceFailure(response, "warehouse");
        const shipmentId = response.json?.shipmentId;
        // The shipment may exist: retried with the same key, which finds it.
        if (typeof shipmentId !== "string" || shipmentId === "") {
          throw new TransientServiceError("warehouse answered without a shipment id");
        }
        return { shipmentId };
      },
    },
    orders: {
      cancel: async ({ orderId, reason, idempotencyKey }) => {
        const response = await send(
          "POST",
          url("ordersUrl", `orders/${encodeURIComponent(orderId)}/cancel`),
          idempotencyKey,
          { reason },
        );
        classifyServiceFailure(response, "order store");
      },
    },
    alerts: {
      raise: async ({ idempotencyKey, ...alert }) => {
        const response = await send("POST", url("alertsUrl", "alerts"), idempotencyKey, alert);
        classifyServiceFailure(response, "alerts");
      },
    },
  };
}

interface JsonResponse {
  status: number;
  json: Record<string, unknown> | undefined;
}

/**
 * 429 and 503 say nothing was done; any other 5xx, or no answer at all, leaves the payment in doubt. A
 * redirect is not followed and not done: the provider did not act on this URL.
 */
function classifyPaymentFailure(response: JsonResponse, what: string): void {
  if (response.status >= 300 && response.status < 400) {
    throw new ClientError(`${what} answered ${response.status}: redirects are not followed`, response.status);
  }
  if (response.status === 0) throw new PaymentInDoubtError(`${what}: no answer`);
  if (response.status === 429 || response.status === 503) {
    throw new ProviderUnavailableError(`${what} answered ${response.status}`, response.status);
  }
  if (response.status >= 500)
    throw new PaymentInDoubtError(`${what} answered ${response.status}`, response.status);
  if (response.status >= 400) throw new ClientError(`${what} answered ${response.status}`, response.status);
}

function classifyServiceFailure(response: JsonResponse, what: string): void {
  if (response.status >= 300 && response.status < 400) {
    throw new ClientError(`${what} answered ${response.status}: redirects are not followed`, response.status);
  }
  if (response.status === 0 || response.status === 429 || response.status >= 500) {
    throw new TransientServiceError(`${what} answered ${response.status || "nothing"}`, response.status);
  }
  if (response.status >= 400) throw new ClientError(`${what} answered ${response.status}`, response.status);
}

/** Status 0: the request failed or timed out, so nobody knows whether the service acted. */
async function sendJson(
  method: "GET" | "POST",
  url: string,
  options: { body?: unknown; idempotencyKey?: string; timeoutMs: number },
): Promise<JsonResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...(options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : {}),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      // Never follow a redirect: a POST would be repeated elsewhere, with our idempotency key.
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch {
    return { status: 0, json: undefined };
  }
  const text = await response.text().catch(() => "");
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json };
}
