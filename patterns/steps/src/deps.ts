import type { ZodMiniType } from "zod/mini";
import {
  AnyAnswer,
  ChargeAnswer,
  FoundChargeAnswer,
  NoChargeAnswer,
  ReservationAnswer,
  ShipmentAnswer,
} from "./answers";
import {
  classifyHttpResult,
  type CallOutcome,
  type Classification,
  type ProviderContract,
} from "./call-outcome";
import { endpoint, httpCall, HttpSettingError } from "./http-call";
import type { OrderItem } from "./input";
import { secretSetting, SecretSettingError } from "./secret-setting";

/**
 * The outside world of the order workflow. Every call here is a side effect, so the workflow makes each
 * one inside a step. Each request carries an idempotency key derived from the order id. Each call either
 * resolves (done) or throws one of the three errors below, which say whether it was not done (for good, or
 * for now) or is in doubt (see src/call-outcome.ts).
 */
export interface Inventory {
  reserve(request: { orderId: string; items: OrderItem[]; idempotencyKey: string }): Promise<Reservation>;
  /**
   * Releases whatever is held under the reservation's idempotency key. A compensation: harmless when nothing
   * is held, so it can run when the reservation itself is in doubt.
   */
  release(request: { orderId: string; reservationKey: string; idempotencyKey: string }): Promise<void>;
}
export interface Payments {
  charge(request: {
    orderId: string;
    customerId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ chargeId: string; amountCents: number; currency: string }>;
  /**
   * The charge the gateway holds under this idempotency key, or null only when the gateway said it holds none.
   * An answer that is neither (a proxy's 404 page, an error) must throw: null releases the order's stock.
   */
  findCharge(request: {
    idempotencyKey: string;
  }): Promise<{ chargeId: string; amountCents: number; currency: string } | null>;
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
  /**
   * Checks every setting the order's calls need (each base URL; the token, read from its secret and dropped),
   * before anything is sent: the workflow's `check-settings` step. Throws a SettingError for a setting a person must
   * fix, a TransientServiceError for a secret that cannot be read for now (retried); returns nothing, so no setting
   * and no secret is checkpointed. Optional: in-memory deps have no settings (the step runs anyway, with nothing to
   * check, so every deps give the same history).
   */
  checkSettings?(): Promise<void>;
  inventory: Inventory;
  payments: Payments;
  shipping: Shipping;
  notifier: Notifier;
}

/**
 * What each provider promises, which the classification of its answers depends on (see the README's Deploy
 * section for the whole contract, idempotency keys included).
 * - The inventory, the carrier and the notifier document that a 503 means they took no action.
 * - The payment gateway does not: its load balancer can answer 503 after the charge reached the card network,
 *   so a 503 from it is in doubt, settled by looking the charge up by its key.
 */
export const PROVIDER_CONTRACTS: Readonly<
  Record<Exclude<keyof OrderDeps, "checkSettings">, ProviderContract>
> = {
  inventory: { unavailableMeansNoAction: true },
  payments: { unavailableMeansNoAction: false },
  shipping: { unavailableMeansNoAction: true },
  notifier: { unavailableMeansNoAction: true },
};

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

/** Not done, for good: the service said no (4xx, a declined card). Retrying the same request cannot help. */
export class ClientError extends Error {
  override readonly name: string = "ClientError";
  readonly outcome: CallOutcome = "not-done";
  readonly retryable = false;
  /** The refusal's body, parsed, when it came over HTTP. */
  answer?: unknown;
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Not done, for good, and never sent: a setting the call needs is wrong (a service URL missing or not an http(s)
 * URL without credentials; a secret setting missing, unreadable, or in the plain environment). Nothing reached the
 * provider; a person must fix the setting (`setting` names it), so it is never retried.
 */
export class SettingError extends ClientError {
  override readonly name: string = "SettingError";
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message, 0);
  }
}

/**
 * Not done, for now: the service throttled us, said it was unavailable and took no action, or the request was
 * never sent (429, 503 where its contract says so, connection refused). The same request may succeed later.
 * Its arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as `new () => Error`.
 */
export class TransientServiceError extends Error {
  override readonly name = "TransientServiceError";
  readonly outcome: CallOutcome = "not-done";
  readonly retryable = true;
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Not done, and not sent again by this step: its first attempt failed before sending anything (a secret Secrets
 * Manager could not give for now). Every attempt of the call failed before sending, so the call is not done: the
 * order fails with nothing to undo, and may be started again. Never retried within the step: a later attempt that
 * failed the same way could no longer say that no attempt reached the provider.
 */
export class NotSentError extends Error {
  override readonly name = "NotSentError";
  readonly outcome: CallOutcome = "not-done";
  readonly retryable = false;
}

/**
 * Not done, for now, and never sent: a secret the call needs could not be read (Secrets Manager throttled us or
 * failed for a while). Retried like any TransientServiceError; `sentNothing` tells the workflow that this attempt,
 * unlike a 429, proves nothing about the provider at all.
 */
export class SettingUnavailableError extends TransientServiceError {
  readonly sentNothing = true;
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/**
 * In doubt: the service may have acted (timeout, reset, 500/502/504, a 2xx with a malformed body). Never treated
 * as not done: sent again with the same key only to a service that honours keys, otherwise looked up by key.
 */
export class OutcomeInDoubtError extends Error {
  override readonly name = "OutcomeInDoubtError";
  readonly outcome: CallOutcome = "in-doubt";
  readonly retryable = false;
  constructor(
    message = "Outcome in doubt",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The error a classified failure becomes, so that retry strategies can decide on its class or its outcome. */
export function errorFor(classification: Classification, message: string, status?: number): Error {
  const text = `${message} (${classification.reason})`;
  if (classification.outcome === "in-doubt") return new OutcomeInDoubtError(text, status);
  if (classification.retryable) return new TransientServiceError(text, status);
  return new ClientError(text, status ?? 0);
}

export interface HttpDepsConfig {
  inventoryUrl: string;
  paymentsUrl: string;
  shippingUrl: string;
  notificationsUrl: string;
  /** Sent as a bearer token to every service, if set. configFromEnv reads it from Secrets Manager. */
  apiToken?: string;
  /** Abort a request after this long; an abort is in doubt (the service may have acted). */
  timeoutMs?: number;
}

type Service = Exclude<keyof OrderDeps, "checkSettings">;
type UrlSetting = "inventoryUrl" | "paymentsUrl" | "shippingUrl" | "notificationsUrl";
const urlSetting: Record<Service, UrlSetting> = {
  inventory: "inventoryUrl",
  payments: "paymentsUrl",
  shipping: "shippingUrl",
  notifier: "notificationsUrl",
};
/** The environment variable each URL comes from (configFromEnv), named in setting errors. */
const URL_ENV: Record<UrlSetting, string> = {
  inventoryUrl: "INVENTORY_API_URL",
  paymentsUrl: "PAYMENTS_API_URL",
  shippingUrl: "SHIPPING_API_URL",
  notificationsUrl: "NOTIFICATIONS_API_URL",
};

/** One path each service is called on: `checkSettings` builds it, so a base URL is checked as the calls use it. */
const SAMPLE_PATHS: Record<UrlSetting, string> = {
  inventoryUrl: "reservations",
  paymentsUrl: "charges",
  shippingUrl: "shipments",
  notificationsUrl: "messages",
};

function baseUrlOf(settings: HttpDepsConfig, setting: UrlSetting): string {
  const baseUrl = settings[setting];
  if (typeof baseUrl !== "string" || baseUrl === "") {
    throw new SettingError(`No URL configured for ${setting}`, URL_ENV[setting]);
  }
  return baseUrl;
}

/**
 * The real dependencies: JSON over HTTP to four services (src/http-call.ts), each request with an
 * `Idempotency-Key` header. The configuration, the token from Secrets Manager included, is resolved on each call,
 * so inside the step that makes it, never at replay time; the token is cached per sandbox (src/secret-setting.ts).
 */
export function createHttpDeps(
  config: () => HttpDepsConfig | Promise<HttpDepsConfig> = configFromEnv,
): OrderDeps {
  // async, so that a missing URL is a rejection like every other failure, never a synchronous throw.
  const call = async <T>(
    service: Service,
    request: { method: "GET" | "POST"; path: string; body?: object; idempotencyKey?: string },
    answer: ZodMiniType<T>,
  ): Promise<T> => {
    const settings = await settingsFor(config);
    const setting = urlSetting[service];
    const baseUrl = baseUrlOf(settings, setting);
    return callJson({ ...request, baseUrl, setting }, answer, {
      contract: PROVIDER_CONTRACTS[service],
      apiToken: settings.apiToken,
      timeoutMs: settings.timeoutMs ?? 10_000,
    });
  };
  return {
    // Every base URL checked with the path its calls use, then the token read (settingsFor) and dropped.
    checkSettings: async () => {
      const settings = await settingsFor(config);
      for (const setting of Object.values(urlSetting)) {
        try {
          endpoint(baseUrlOf(settings, setting), SAMPLE_PATHS[setting]);
        } catch (error) {
          if (!(error instanceof HttpSettingError)) throw error;
          const env = URL_ENV[setting];
          throw new SettingError(`${env} (${setting}): ${error.message}`, env);
        }
      }
    },
    inventory: {
      reserve: async ({ idempotencyKey, ...body }) => {
        const answer = await call(
          "inventory",
          { method: "POST", path: "reservations", body, idempotencyKey },
          ReservationAnswer,
        );
        return Reservation.of(answer.reservationId, new Date(answer.expiresAt));
      },
      release: async ({ idempotencyKey, ...body }) => {
        await call("inventory", { method: "POST", path: "releases", body, idempotencyKey }, AnyAnswer);
      },
    },
    payments: {
      charge: ({ idempotencyKey, ...body }) =>
        call("payments", { method: "POST", path: "charges", body, idempotencyKey }, ChargeAnswer),
      findCharge: async ({ idempotencyKey }) => {
        const path = `charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}`;
        try {
          return await call("payments", { method: "GET", path }, FoundChargeAnswer);
        } catch (error) {
          if (!(error instanceof ClientError && error.status === 404)) throw error;
          // The gateway's "none" is a 404 whose body names the key asked for. Any other 404 (a proxy's page, a
          // route that moved) says nothing about the charge: in doubt, never "nothing was charged".
          if (NoChargeAnswer.safeParse(error.answer).data?.idempotencyKey === idempotencyKey) return null;
          throw new OutcomeInDoubtError(
            `${error.message}, which is not the gateway's "no charge" answer`,
            404,
          );
        }
      },
    },
    shipping: {
      createShipment: ({ idempotencyKey, ...body }) =>
        call("shipping", { method: "POST", path: "shipments", body, idempotencyKey }, ShipmentAnswer),
    },
    notifier: {
      send: async ({ idempotencyKey, ...body }) => {
        await call("notifier", { method: "POST", path: "messages", body, idempotencyKey }, AnyAnswer);
      },
    },
  };
}

/**
 * The deployed configuration: the four base URLs are plain settings; the token is a secret setting, read from the
 * secret whose ARN is in ORDER_API_TOKEN_SECRET_ARN (a plain ORDER_API_TOKEN is refused). Called by every HTTP
 * call, inside its step; Powertools keeps the token for SECRET_MAX_AGE_SECONDS per sandbox.
 */
export async function configFromEnv(): Promise<HttpDepsConfig> {
  return {
    inventoryUrl: process.env.INVENTORY_API_URL ?? "",
    paymentsUrl: process.env.PAYMENTS_API_URL ?? "",
    shippingUrl: process.env.SHIPPING_API_URL ?? "",
    notificationsUrl: process.env.NOTIFICATIONS_API_URL ?? "",
    apiToken: await secretSetting("ORDER_API_TOKEN", { required: false }),
  };
}

/**
 * The settings, or the error that says nothing was sent: a secret that cannot be read for now (Secrets Manager
 * throttled us) is retryable; one that is missing, unreadable or set in plain text needs a person.
 */
async function settingsFor(config: () => HttpDepsConfig | Promise<HttpDepsConfig>): Promise<HttpDepsConfig> {
  try {
    return await config();
  } catch (error) {
    if (!(error instanceof SecretSettingError)) throw error;
    if (error.retryable) {
      throw new SettingUnavailableError(`${error.message}; this attempt sent nothing`, error.setting);
    }
    throw new SettingError(error.message, error.setting);
  }
}

/**
 * One HTTP call, classified: it resolves with the parsed answer (done) or throws the error its classification
 * names (src/call-outcome.ts). httpCall tells what happened on the wire; what that means is this pattern's table.
 */
async function callJson<T>(
  request: {
    baseUrl: string;
    setting: UrlSetting;
    method: "GET" | "POST";
    path: string;
    body?: object;
    idempotencyKey?: string;
  },
  answer: ZodMiniType<T>,
  options: { contract: ProviderContract; apiToken?: string; timeoutMs: number },
): Promise<T> {
  let result;
  try {
    result = await httpCall({
      baseUrl: request.baseUrl,
      path: request.path,
      method: request.method,
      body: request.body,
      idempotencyKey: request.idempotencyKey,
      token: options.apiToken,
      timeoutMs: options.timeoutMs,
      answer,
    });
  } catch (error) {
    // A URL that cannot be called as configured (credentials in it, not http(s)): refused before sending.
    if (!(error instanceof HttpSettingError)) throw error;
    const env = URL_ENV[request.setting];
    throw new SettingError(`${env} (${request.setting}): ${error.message}`, env);
  }
  if (result.kind === "answered") return result.value;
  const classification = classifyHttpResult(result, options.contract);
  const status = "status" in result ? result.status : undefined;
  const what =
    result.kind === "status"
      ? `${result.call} answered ${result.status}: ${result.excerpt}`
      : result.kind === "malformed"
        ? `${result.call} answered ${result.status} with a malformed body: ${result.excerpt}`
        : `${result.call} failed: ${result.excerpt}`;
  const error = errorFor(classification, what, status);
  // A refusal keeps its parsed body, for a caller whose provider answers "none" with a 4xx (the look-up).
  if (error instanceof ClientError && result.kind === "status") error.answer = result.body;
  throw error;
}
