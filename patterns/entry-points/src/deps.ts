import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import * as z from "zod/mini";
import { PaymentAccepted, PaymentRecord, Shipment, VoidAnswer } from "./answers";
import { endpoint, httpCall, HttpSettingError, safeExcerpt, type HttpResult } from "./http-call";
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
import { secretSetting } from "./secret-setting";

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

/** Plain settings only: URLs and a table name. The token is a secret setting, read in the call (below). */
export function configFromEnv(): HttpDepsConfig {
  return {
    paymentsUrl: process.env.PAYMENTS_API_URL ?? "",
    warehouseUrl: process.env.WAREHOUSE_API_URL ?? "",
    ordersUrl: process.env.ORDERS_API_URL ?? "",
    alertsUrl: process.env.ALERTS_API_URL ?? "",
    callbackTable: process.env.CALLBACK_TABLE_NAME ?? "",
  };
}

/**
 * The API token the four services (payments, warehouse, orders, alerts) get as `Authorization: Bearer`: a secret
 * setting, so its value is in Secrets Manager and the function's environment holds only the secret's ARN, in
 * `CHECKOUT_API_TOKEN_SECRET_ARN`. Optional: unset (or still the stack's placeholder), no token is sent.
 */
export const API_TOKEN_SETTING = "CHECKOUT_API_TOKEN";

/** The environment variable each base URL comes from, named in every error about it. */
const URL_SETTINGS = {
  paymentsUrl: "PAYMENTS_API_URL",
  warehouseUrl: "WAREHOUSE_API_URL",
  ordersUrl: "ORDERS_API_URL",
  alertsUrl: "ALERTS_API_URL",
} as const;
type Service = keyof typeof URL_SETTINGS;

/** Entries outlive the payment timeout by far, then DynamoDB's TTL (attribute `expiresAt`) removes them. */
export const REGISTRY_TTL_SECONDS = 7 * 24 * 60 * 60;

/**
 * The DynamoDB client module, evaluated the first time the registry is used rather than when a handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const dynamoDbModule = onFirstUse(() => import("@aws-sdk/client-dynamodb"));
const lazyDynamoDbClient = onFirstUse(async () => new (await dynamoDbModule()).DynamoDBClient({}));

/**
 * The callback registry on DynamoDB. One order, one waiting checkout: a retried register (the same callback id)
 * writes the item again, harmlessly; a register of another callback id for an order already registered is
 * refused (a conditional write), so a second execution for the same order can never re-point the webhook away
 * from the checkout that asked for the payment. Without a `client` (tests pass one), the sandbox's own is made on
 * first use.
 */
export function dynamoCallbackRegistry(
  tableName: () => string,
  client?: Pick<DynamoDBClient, "send">,
): CallbackRegistry {
  const sender = async () => client ?? (await lazyDynamoDbClient());
  const call = async <T>(run: (TableName: string) => Promise<T>, conflict?: string): Promise<T> => {
    const TableName = tableName();
    if (!TableName) throw new ClientError("No callback table configured (CALLBACK_TABLE_NAME)");
    try {
      return await run(TableName);
    } catch (error) {
      throw registryFailure(error, TableName, conflict);
    }
  };
  return {
    register: async ({ orderId, callbackId }) => {
      const expiresAt = Math.floor(Date.now() / 1000) + REGISTRY_TTL_SECONDS;
      await call(
        async (TableName) => {
          const { PutItemCommand } = await dynamoDbModule();
          return (await sender()).send(
            new PutItemCommand({
              TableName,
              Item: {
                orderId: { S: orderId },
                callbackId: { S: callbackId },
                expiresAt: { N: String(expiresAt) },
              },
              ConditionExpression: "attribute_not_exists(orderId) OR callbackId = :callbackId",
              ExpressionAttributeValues: { ":callbackId": { S: callbackId } },
            }),
          );
        },
        `order ${orderId} is already registered to another checkout's callback, so its webhook would not ` +
          `reach this one; if that checkout has ended, delete the order's item from the table in ` +
          `CALLBACK_TABLE_NAME and start the order again`,
      );
    },
    find: async (orderId) => {
      const output = await call(async (TableName) => {
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
 * What a DynamoDB failure means. Never the item or the AWS message in the text: they can quote the callback id.
 * A failed condition (`conflict`), a table that does not exist, or one the role may not use, is ours to fix: not
 * retried. Anything else (throttled, an internal error, the network) is transient: the write is the same item
 * again, so retrying it is harmless.
 */
function registryFailure(error: unknown, table: string, conflict?: string): Error {
  const { name: errorName, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  // A network failure is a plain Error: its code (ECONNREFUSED, ECONNRESET) says what happened.
  const name =
    typeof errorName === "string" && errorName !== "Error"
      ? errorName
      : typeof code === "string"
        ? code
        : "a network or client error";
  if (name === "ConditionalCheckFailedException")
    return new ClientError(`callback registry: ${conflict ?? "a condition failed"} (${name})`);
  if (name === "ResourceNotFoundException")
    return new ClientError(
      `callback registry: the table "${table}" in CALLBACK_TABLE_NAME does not exist in this account and region (${name})`,
    );
  if (name === "AccessDeniedException" || name === "UnrecognizedClientException")
    return new ClientError(
      `callback registry: the function's role may not use the table "${table}" in CALLBACK_TABLE_NAME (${name})`,
    );
  if (name === "ValidationException")
    return new ClientError(`callback registry: DynamoDB refused the request to "${table}" (${name})`);
  return new TransientServiceError(`callback registry: ${name}`);
}

/** A body the caller does not read: any JSON, or none, is an answer; only the status says what happened. */
const AnyBody = z.unknown();

type NotAnswered = Exclude<HttpResult<unknown>, { kind: "answered" }>;

/**
 * The real dependencies: the provider, warehouse, order store and alerts as JSON over HTTP (src/http-call.ts),
 * the registry on DynamoDB. Settings are read on each call, so inside the step that makes it, never at import
 * or replay time: the base URLs from `config`, the token from Secrets Manager (`CHECKOUT_API_TOKEN`, cached per
 * sandbox). A setting that cannot be used throws before anything is sent, naming the setting.
 */
export function createHttpDeps(config: () => HttpDepsConfig = configFromEnv): CheckoutDeps {
  const call = async <T>(
    service: Service,
    request: {
      method: "GET" | "POST";
      path: string;
      idempotencyKey?: string;
      body?: unknown;
      answer: z.ZodMiniType<T>;
    },
  ): Promise<{ result: HttpResult<T>; token: string | undefined }> => {
    const settings = config();
    const baseUrl = settings[service];
    const setting = URL_SETTINGS[service];
    if (!baseUrl) throw new HttpSettingError(`No ${service} configured (${setting})`);
    // Every setting error names the variable to fix (never its value): checked here with the call's own path, so
    // a base URL that only fails under a path (a query or a fragment in it) is refused before the secret is read.
    const named = (error: unknown) =>
      error instanceof HttpSettingError ? new HttpSettingError(`${setting}: ${error.message}`) : error;
    try {
      endpoint(baseUrl, request.path);
    } catch (error) {
      throw named(error);
    }
    // A value no header can carry (a line break, a control character) is refused there, naming the setting.
    const token = await secretSetting(API_TOKEN_SETTING, { required: false });
    try {
      const result = await httpCall({ ...request, baseUrl, token, timeoutMs: settings.timeoutMs ?? 10_000 });
      return { result, token };
    } catch (error) {
      throw named(error);
    }
  };

  return {
    payments: {
      requestPayment: async ({ idempotencyKey, ...payment }) => {
        const { result, token } = await call("paymentsUrl", {
          method: "POST",
          path: "payments",
          idempotencyKey,
          body: payment,
          answer: PaymentAccepted,
        });
        // Answers are input: a 2xx without a usable payment id may still have created one, so it is in doubt.
        if (result.kind === "answered") return { paymentId: result.value.paymentId };
        if (result.kind === "status" && result.status === 402)
          throw new PaymentDeclinedError(declineReason(result.body, token));
        throw paymentFailure("payment request", result);
      },
      lookUpPayment: async ({ idempotencyKey }) => {
        const { result } = await call("paymentsUrl", {
          method: "GET",
          path: `payments/by-key/${encodeURIComponent(idempotencyKey)}`,
          answer: PaymentRecord,
        });
        if (result.kind === "answered") return result.value;
        if (result.kind === "status" && result.status === 404) return undefined;
        // Not a payment record: neither paid nor not paid, retried, and never read as either.
        throw paymentFailure("payment look-up", result);
      },
      voidPayment: async ({ idempotencyKey }) => {
        const { result } = await call("paymentsUrl", {
          method: "POST",
          path: `payments/by-key/${encodeURIComponent(idempotencyKey)}/void`,
          idempotencyKey: `${idempotencyKey}:void`,
          answer: VoidAnswer,
        });
        // The body says what the void did: a 2xx alone does not ({}, a proxy's HTML page, an empty 204 are in
        // doubt, and the workflow asks the provider's record), and {"status":"succeeded"} is captured, not voided.
        if (result.kind === "answered") return { status: result.value.status };
        if (result.kind === "status" && result.status === 404) return { status: "not-found" };
        // 409: the payment was captured before the void arrived.
        if (result.kind === "status" && result.status === 409) return { status: "succeeded" };
        throw paymentFailure("payment void", result);
      },
    },
    callbacks: dynamoCallbackRegistry(() => config().callbackTable),
    warehouse: {
      ship: async ({ idempotencyKey, ...shipment }) => {
        const { result } = await call("warehouseUrl", {
          method: "POST",
          path: "shipments",
          idempotencyKey,
          body: shipment,
          answer: Shipment,
        });
        // Without a shipment id the shipment may exist: retried with the same key, which finds it.
        if (result.kind === "answered") return { shipmentId: result.value.shipmentId };
        throw serviceFailure("warehouse", result);
      },
    },
    orders: {
      cancel: async ({ orderId, reason, idempotencyKey }) => {
        const { result } = await call("ordersUrl", {
          method: "POST",
          path: `orders/${encodeURIComponent(orderId)}/cancel`,
          idempotencyKey,
          body: { reason },
          answer: AnyBody,
        });
        if (result.kind !== "answered") throw serviceFailure("order store", result);
      },
    },
    alerts: {
      raise: async ({ idempotencyKey, ...alert }) => {
        const { result } = await call("alertsUrl", {
          method: "POST",
          path: "alerts",
          idempotencyKey,
          body: alert,
          answer: AnyBody,
        });
        if (result.kind !== "answered") throw serviceFailure("alerts", result);
      },
    },
  };
}

/** The provider's reason for a decline reaches the order's cancellation and the customer: bounded, one line. */
function declineReason(body: unknown, token: string | undefined): string {
  const reason =
    body !== null && typeof body === "object" ? (body as { reason?: unknown }).reason : undefined;
  const safe = typeof reason === "string" ? safeExcerpt(reason, token, 200) : "";
  return safe === "" ? "declined" : safe;
}

/**
 * The payment provider's contract, for every payment call. Not done: 429 and 503 (the provider documents that
 * it took no action), a request that never left this process (not-sent), a redirect (not followed: the provider
 * did not act on this URL) and any other 4xx (our request is wrong). In doubt: any other 5xx, no answer in time,
 * a connection lost after the request was sent, a 2xx whose body is not what the provider promises.
 */
function paymentFailure(what: string, result: NotAnswered): Error {
  const message = describe(what, result);
  if (result.kind === "not-sent") return new ProviderUnavailableError(message);
  if (result.kind !== "status") return new PaymentInDoubtError(message, statusOf(result));
  const { status } = result;
  if (status >= 300 && status < 400) return new ClientError(message, status);
  if (status === 429 || status === 503) return new ProviderUnavailableError(message, status);
  if (status >= 400 && status < 500) return new ClientError(message, status);
  return new PaymentInDoubtError(message, status);
}

/**
 * The warehouse, the order store and the alerting endpoint: a redirect or a 4xx is a refusal (not retried);
 * 429, a 5xx, a request not sent, no answer, a lost connection or an unusable 2xx body are transient: retried
 * with the same idempotency key, which each of them honours, so a retry finds what the first request did.
 */
function serviceFailure(what: string, result: NotAnswered): Error {
  const message = describe(what, result);
  if (result.kind === "status") {
    const { status } = result;
    const refused = (status >= 300 && status < 400) || (status >= 400 && status < 500 && status !== 429);
    return refused ? new ClientError(message, status) : new TransientServiceError(message, status);
  }
  return new TransientServiceError(message, statusOf(result));
}

const statusOf = (result: NotAnswered) => ("status" in result ? result.status : undefined);

/**
 * One line that names the call and what came back: every piece from the provider is an excerpt (bounded, one
 * line, the token cut out), so the message is safe for a step's error, the execution's error and an alert.
 */
function describe(what: string, result: NotAnswered): string {
  const then = (excerpt: string) => (excerpt === "" ? "" : `: ${excerpt}`);
  const call = `${what} (${result.call})`;
  switch (result.kind) {
    case "status":
      return result.status >= 300 && result.status < 400
        ? `${call} answered ${result.status}, a redirect, not followed${then(result.excerpt)}`
        : `${call} answered ${result.status}${then(result.excerpt)}`;
    case "malformed":
      return `${call} answered ${result.status} with a body that is not the answer it promises${then(result.excerpt)}`;
    case "not-sent":
      return `${call} was not sent (${result.code})${then(result.excerpt)}`;
    case "timed-out":
      return `${call}: ${result.excerpt}`;
    case "lost":
      return `${call}: the connection broke after the request was sent (${result.code})${then(result.excerpt)}`;
  }
}
