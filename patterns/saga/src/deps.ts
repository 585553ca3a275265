import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import * as z from "zod/mini";
import {
  AcknowledgementAnswer,
  ChargeLookUpAnswer,
  ConfirmationAnswer,
  ReservationAnswer,
  ReservationLookUpAnswer,
} from "./answers";
import { StaleBreakerRecordError, type BreakerRecord } from "./breaker";
import {
  classifyHttpResult,
  describeHttpResult,
  errorFor,
  ProviderRejectedError,
  SecretsUnavailableError,
} from "./call-outcome";
import { endpoint, httpCall, HttpSettingError, type HttpCall, type HttpResult } from "./http-call";
import { onFirstUse } from "./on-first-use";
import { secretSetting, SecretSettingError } from "./secret-setting";

/**
 * The outside world of the trip saga. Every call is a side effect, so the workflow makes each one inside a
 * step, and each carries an idempotency key derived from the execution and the operation name: a retry, or a
 * replay after a crash, sends the same key, and the provider answers with what it did the first time.
 * Each provider also answers a look-up by key (`find`): that is how an outcome in doubt is settled.
 */
export interface Reservation {
  reservationId: string;
}

/** What a provider holds under an idempotency key. */
export interface HeldReservation {
  reservationId: string;
  status: "held" | "cancelled" | "confirmed";
}

interface ReservationProvider {
  cancel(request: { reservationId: string; idempotencyKey: string }): Promise<void>;
  /** The reservation made under this key, or undefined when the provider holds none. */
  find(request: { idempotencyKey: string }): Promise<HeldReservation | undefined>;
}

export interface Flights extends ReservationProvider {
  reserve(request: {
    bookingId: string;
    from: string;
    to: string;
    departOn: string;
    returnOn: string;
    travellers: number;
    idempotencyKey: string;
  }): Promise<Reservation>;
}

export interface Hotels extends ReservationProvider {
  reserve(request: {
    bookingId: string;
    hotelId: string;
    checkIn: string;
    checkOut: string;
    guests: number;
    idempotencyKey: string;
  }): Promise<Reservation>;
}

export interface CarRental extends ReservationProvider {
  reserve(request: {
    bookingId: string;
    pickUpAt: string;
    from: string;
    to: string;
    category: string;
    idempotencyKey: string;
  }): Promise<Reservation>;
}

/** The orchestrator only refunds: charging is the payment function's job (src/payment.ts). */
export interface Refunds {
  refund(request: {
    chargeId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<void>;
  /** The charge the payment function made under this key, or undefined when there is none. */
  findCharge(request: {
    idempotencyKey: string;
  }): Promise<
    { chargeId: string; status: "charged" | "refunded"; amountCents: number; currency: string } | undefined
  >;
}

export interface Itineraries {
  /**
   * The itinerary confirmed for this booking id, by any execution, or undefined when there is none. The service
   * holds at most one per booking id (see the README's Deploy section).
   */
  find(request: { bookingId: string }): Promise<{ confirmationNumber: string } | undefined>;
  /** Records the booking and emails the traveller their itinerary. */
  confirm(request: {
    bookingId: string;
    email: string;
    flightReservationId: string;
    hotelReservationId: string;
    carReservationId?: string;
    chargeId: string;
    idempotencyKey: string;
  }): Promise<{ confirmationNumber: string }>;
}

/** Where a compensation that could not be done goes: a person has to finish it. */
export interface Operations {
  alert(request: {
    bookingId: string;
    failedAt: string;
    notUndone: { compensation: string; reason: string }[];
    idempotencyKey: string;
  }): Promise<void>;
}

/**
 * The circuit breaker's state, shared by every execution: a small durable store with optimistic concurrency.
 * `put` succeeds only if the stored version is still `expectedVersion` (0: no record yet), else it throws
 * StaleBreakerRecordError and the step that called it retries with a fresh read.
 */
export interface BreakerStore {
  get(circuit: string): Promise<BreakerRecord | undefined>;
  put(circuit: string, record: BreakerRecord, expectedVersion: number): Promise<void>;
}

export interface TripDeps {
  /**
   * Checks every setting the booking needs (each base URL, the providers' token read from its secret and then
   * dropped), before anything is reserved: a setting that cannot be used fails the booking with nothing to undo.
   * Returns nothing, so no setting is checkpointed. Optional: in-memory providers have no settings.
   */
  checkSettings?(): Promise<void>;
  flights: Flights;
  hotels: Hotels;
  cars: CarRental;
  refunds: Refunds;
  itineraries: Itineraries;
  operations: Operations;
  breakerStore: BreakerStore;
}

export { OutcomeInDoubtError, ProviderRejectedError, ProviderUnavailableError } from "./call-outcome";
export { StaleBreakerRecordError } from "./breaker";

export interface HttpProvidersConfig {
  flightsUrl: string;
  hotelsUrl: string;
  carsUrl: string;
  paymentsUrl: string;
  itinerariesUrl: string;
  operationsUrl: string;
  /**
   * The bearer token sent to every provider (undefined: none), read each time a call is made, so inside the step
   * that makes it. `configFromEnv` reads TRIP_API_TOKEN from Secrets Manager (src/secret-setting.ts), never from
   * the plain environment.
   */
  apiToken?: () => Promise<string | undefined>;
  timeoutMs?: number;
  /** How long `check-settings` waits for the token's secret before it fails the booking (default 10 s). */
  secretReadTimeoutMs?: number;
}

export interface RealDepsConfig extends HttpProvidersConfig {
  breakerTable: string;
}

type Service = Exclude<keyof HttpProvidersConfig, "apiToken" | "timeoutMs" | "secretReadTimeoutMs">;

/** One path each service is called on: `check-settings` builds it, so a base URL is checked as the calls use it. */
const SAMPLE_PATHS: Record<Service, string> = {
  flightsUrl: "reservations",
  hotelsUrl: "reservations",
  carsUrl: "reservations",
  paymentsUrl: "charges",
  itinerariesUrl: "itineraries",
  operationsUrl: "alerts",
};

/** Where each base URL comes from, to name it in an error. */
const URL_SETTINGS: Record<Service, string> = {
  flightsUrl: "FLIGHTS_API_URL",
  hotelsUrl: "HOTELS_API_URL",
  carsUrl: "CARS_API_URL",
  paymentsUrl: "PAYMENTS_API_URL",
  itinerariesUrl: "ITINERARIES_API_URL",
  operationsUrl: "OPERATIONS_API_URL",
};

/**
 * The real dependencies: JSON over HTTP to each provider with an `Idempotency-Key` header (src/http-call.ts), and
 * the breaker state in a DynamoDB table (partition key `circuit`, a string). Configuration, the token included, is
 * read on each call, so inside the step that makes it, and a missing variable never breaks the import.
 */
export function createRealDeps(
  config: () => RealDepsConfig = configFromEnv,
  dynamodb: () => DynamoDBClient | Promise<DynamoDBClient> = lazyDynamoDbClient,
): TripDeps {
  const call = async <T>(
    service: Service,
    request: { method: "GET" | "POST"; path: string; body?: object; idempotencyKey?: string },
    answer: z.ZodMiniType<T>,
  ) => {
    const settings = config();
    const baseUrl = settings[service];
    if (typeof baseUrl !== "string" || baseUrl === "") {
      throw new ProviderRejectedError(`No URL configured for ${service}`);
    }
    return callJson({
      ...request,
      baseUrl,
      setting: `${service} (${URL_SETTINGS[service]})`,
      token: await readToken(settings.apiToken),
      timeoutMs: settings.timeoutMs ?? 10_000,
      answer,
    });
  };
  const post = <T>(
    service: Service,
    path: string,
    body: object,
    idempotencyKey: string,
    answer: z.ZodMiniType<T>,
  ) => call(service, { method: "POST", path, body, idempotencyKey }, answer);
  /** A look-up by key: 404 means nothing was done under it, which settles the doubt as not done. */
  const lookUp = async <T>(service: Service, path: string, answer: z.ZodMiniType<T>) => {
    try {
      return await call(service, { method: "GET", path }, answer);
    } catch (error) {
      if (error instanceof ProviderRejectedError && error.status === 404) return undefined;
      throw error;
    }
  };
  const reservations = (service: Service) => ({
    async cancel({ reservationId, idempotencyKey }: { reservationId: string; idempotencyKey: string }) {
      await post(
        service,
        `reservations/${encodeURIComponent(reservationId)}/cancel`,
        {},
        idempotencyKey,
        AcknowledgementAnswer,
      );
    },
    find: ({ idempotencyKey }: { idempotencyKey: string }) =>
      lookUp(
        service,
        `reservations?idempotencyKey=${encodeURIComponent(idempotencyKey)}`,
        ReservationLookUpAnswer,
      ),
  });
  return {
    async checkSettings() {
      const settings = config();
      for (const service of Object.keys(URL_SETTINGS) as Service[]) {
        const baseUrl = settings[service];
        const setting = `${service} (${URL_SETTINGS[service]})`;
        if (typeof baseUrl !== "string" || baseUrl === "") {
          throw new HttpSettingError(`${setting}: ${URL_SETTINGS[service]} is not set`);
        }
        try {
          endpoint(baseUrl, SAMPLE_PATHS[service]);
        } catch (error) {
          if (error instanceof HttpSettingError) throw new HttpSettingError(`${setting}: ${error.message}`);
          throw error;
        }
      }
      // Read to prove it can be, then dropped: never returned or checkpointed.
      await checkToken(settings.apiToken, settings.secretReadTimeoutMs ?? 10_000);
    },
    flights: {
      reserve: ({ idempotencyKey, ...request }) =>
        post("flightsUrl", "reservations", request, idempotencyKey, ReservationAnswer),
      ...reservations("flightsUrl"),
    },
    hotels: {
      reserve: ({ idempotencyKey, ...request }) =>
        post("hotelsUrl", "reservations", request, idempotencyKey, ReservationAnswer),
      ...reservations("hotelsUrl"),
    },
    cars: {
      reserve: ({ idempotencyKey, ...request }) =>
        post("carsUrl", "reservations", request, idempotencyKey, ReservationAnswer),
      ...reservations("carsUrl"),
    },
    refunds: {
      refund: async ({ idempotencyKey, chargeId, ...request }) => {
        await post(
          "paymentsUrl",
          `charges/${encodeURIComponent(chargeId)}/refunds`,
          request,
          idempotencyKey,
          AcknowledgementAnswer,
        );
      },
      findCharge: ({ idempotencyKey }) =>
        lookUp(
          "paymentsUrl",
          `charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}`,
          ChargeLookUpAnswer,
        ),
    },
    itineraries: {
      find: ({ bookingId }) =>
        lookUp(
          "itinerariesUrl",
          `itineraries?bookingId=${encodeURIComponent(bookingId)}`,
          ConfirmationAnswer,
        ),
      confirm: ({ idempotencyKey, ...request }) =>
        post("itinerariesUrl", "itineraries", request, idempotencyKey, ConfirmationAnswer),
    },
    operations: {
      alert: async ({ idempotencyKey, ...request }) => {
        await post("operationsUrl", "alerts", request, idempotencyKey, AcknowledgementAnswer);
      },
    },
    breakerStore: createDynamoDbBreakerStore(() => config().breakerTable, dynamodb),
  };
}

export function configFromEnv(): RealDepsConfig {
  return {
    flightsUrl: process.env.FLIGHTS_API_URL ?? "",
    hotelsUrl: process.env.HOTELS_API_URL ?? "",
    carsUrl: process.env.CARS_API_URL ?? "",
    paymentsUrl: process.env.PAYMENTS_API_URL ?? "",
    itinerariesUrl: process.env.ITINERARIES_API_URL ?? "",
    operationsUrl: process.env.OPERATIONS_API_URL ?? "",
    apiToken: () => secretSetting("TRIP_API_TOKEN", { required: false }),
    breakerTable: process.env.BREAKER_TABLE_NAME ?? "",
  };
}

/**
 * The DynamoDB client module, evaluated the first time the breaker is read rather than when the handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const dynamoDbModule = onFirstUse(() => import("@aws-sdk/client-dynamodb"));
const lazyDynamoDbClient = onFirstUse(
  async () =>
    new (await dynamoDbModule()).DynamoDBClient({ requestHandler: BREAKER_TABLE_TIMEOUTS, maxAttempts: 2 }),
);

/**
 * The breaker is side work and must not hold a booking up: without these a DynamoDB that accepts the connection
 * and never answers hangs the step until the Lambda timeout. `throwOnRequestTimeout` is needed: without it the
 * SDK's HTTP handler only logs a warning when `requestTimeout` passes, and goes on waiting. A timeout fails the
 * read or write like any other store error (the check takes the circuit as closed, a write is recorded in
 * `sideWorkFailures`). With two attempts per request, a store that never answers costs a step about 2 x 5 s.
 */
export const BREAKER_TABLE_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 5_000,
  throwOnRequestTimeout: true,
};

/**
 * The breaker record as a DynamoDB item. Reads are strongly consistent and writes are conditional on the
 * version, so two executions that record a failure at the same time cannot lose one of the two counts, and
 * of two bookings that claim the half-open trial at the same time exactly one wins (the other's PutItem fails
 * its condition and it skips the car).
 */
export function createDynamoDbBreakerStore(
  tableName: () => string,
  client: () => DynamoDBClient | Promise<DynamoDBClient>,
): BreakerStore {
  const table = () => {
    const name = tableName();
    if (name === "") throw new BreakerTableError("BREAKER_TABLE_NAME is not set");
    return name;
  };
  /** A table that is not there is a setting to fix, said as such; every other error passes through unchanged. */
  const missingTable = (error: unknown, TableName: string) =>
    (error as Error | undefined)?.name === "ResourceNotFoundException"
      ? new BreakerTableError(
          `the breaker table in BREAKER_TABLE_NAME (${TableName}) does not exist in this account and region ` +
            "(ResourceNotFoundException): check BREAKER_TABLE_NAME and the function's region",
        )
      : error;
  return {
    async get(circuit) {
      const TableName = table();
      const { GetItemCommand } = await dynamoDbModule();
      const dynamo = await client();
      let Item: Record<string, AttributeValue> | undefined;
      try {
        ({ Item } = await dynamo.send(
          new GetItemCommand({ TableName, Key: { circuit: { S: circuit } }, ConsistentRead: true }),
        ));
      } catch (error) {
        throw missingTable(error, TableName);
      }
      if (!Item) return undefined;
      return breakerRecordOf(Item, TableName, circuit);
    },
    async put(circuit, record, expectedVersion) {
      const TableName = table();
      const { ConditionalCheckFailedException, PutItemCommand } = await dynamoDbModule();
      const dynamo = await client();
      try {
        await dynamo.send(
          new PutItemCommand({
            TableName,
            Item: {
              circuit: { S: circuit },
              state: { S: record.state },
              consecutiveFailures: { N: String(record.consecutiveFailures) },
              ...(record.openedAt === undefined ? {} : { openedAt: { N: String(record.openedAt) } }),
              ...(record.trialStartedAt === undefined
                ? {}
                : { trialStartedAt: { N: String(record.trialStartedAt) } }),
              ...(record.trialClaimedBy === undefined
                ? {}
                : { trialClaimedBy: { S: record.trialClaimedBy } }),
              version: { N: String(record.version) },
            },
            ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
            ExpressionAttributeValues: { ":expected": { N: String(expectedVersion) } },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw new StaleBreakerRecordError();
        throw missingTable(error, TableName);
      }
    },
  };
}

/**
 * The stored item as a record, or CorruptBreakerRecordError. A number or state that is not what this code writes
 * (edited by hand, another program) is never read as "no record" or guessed at: the read fails, the check takes
 * the circuit as closed and reports it as side work, and the writes, which read first, leave the item as it is
 * for a person to fix. Attributes that are absent read as 0 (an item written by hand, or by an older version).
 */
function breakerRecordOf(
  item: Record<string, AttributeValue>,
  table: string,
  circuit: string,
): BreakerRecord {
  const problems: string[] = [];
  const count = (name: string, required: boolean): number | undefined => {
    const value = item[name];
    if (value === undefined) return required ? 0 : undefined;
    const number = value.N === undefined ? Number.NaN : Number(value.N);
    if (Number.isSafeInteger(number) && number >= 0) return number;
    problems.push(`${name} is not a whole number`);
    return undefined;
  };
  const state = item.state?.S ?? (item.state === undefined ? "closed" : undefined);
  if (state !== "open" && state !== "closed") problems.push("state is neither open nor closed");
  const consecutiveFailures = count("consecutiveFailures", true);
  const openedAt = count("openedAt", false);
  const trialStartedAt = count("trialStartedAt", false);
  const version = count("version", true);
  const trialClaimedBy = item.trialClaimedBy?.S;
  if (item.trialClaimedBy !== undefined && trialClaimedBy === undefined) {
    problems.push("trialClaimedBy is not a string");
  }
  if (problems.length > 0) {
    throw new CorruptBreakerRecordError(
      `the breaker record for circuit ${circuit} in table ${table} (BREAKER_TABLE_NAME) is corrupt: ` +
        `${problems.join(", ")}; left as it is: fix or delete the item`,
    );
  }
  return {
    state: state as BreakerRecord["state"],
    consecutiveFailures: consecutiveFailures ?? 0,
    ...(openedAt !== undefined ? { openedAt } : {}),
    ...(trialStartedAt !== undefined ? { trialStartedAt } : {}),
    ...(trialClaimedBy !== undefined ? { trialClaimedBy } : {}),
    version: version ?? 0,
  };
}

/** A breaker item that is not a record this code wrote. Not retried: a person fixes or deletes the item. */
export class CorruptBreakerRecordError extends Error {
  override readonly name = "CorruptBreakerRecordError";
}

/** The breaker table cannot be used as configured: not named, or not there. Not retried; a person fixes it. */
export class BreakerTableError extends Error {
  override readonly name = "BreakerTableError";
}

/**
 * A secret the call needs, read in the call's path (so inside its step). A Secrets Manager that failed for a while
 * (throttled, internal error, network) is not done and may succeed later: SecretsUnavailableError, an outage that
 * compensations and `check-settings` retry, and that ends a forward step as a setting error (src/call-outcome.ts).
 * Anything else (missing, unreadable, in plain env) is a SecretSettingError, which no strategy retries.
 * Either way nothing was sent.
 */
export async function readToken(
  token: (() => Promise<string | undefined>) | undefined,
): Promise<string | undefined> {
  try {
    return await token?.();
  } catch (error) {
    if (error instanceof SecretSettingError && error.retryable) {
      throw new SecretsUnavailableError(`${error.message}: nothing was sent`, error.setting);
    }
    throw error;
  }
}

/**
 * `check-settings`' read of the token, bounded. Throttling answers at once, and the step retries it (a few
 * quick tries ride it out). A Secrets Manager that does not answer is different: each read already waited for its
 * client's timeouts, so a read that failed slowly (2 s or more), or that has not answered by `timeoutMs`, fails the
 * check for good (a SecretSettingError, which no strategy retries): the booking fails in bounded time, nothing sent.
 */
async function checkToken(
  token: (() => Promise<string | undefined>) | undefined,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SecretSettingError(
            `the providers' token (TRIP_API_TOKEN) was not read within ${timeoutMs / 1000} s: nothing was sent`,
            "TRIP_API_TOKEN",
            true,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([readToken(token), deadline]);
  } catch (error) {
    const seconds = (Date.now() - started) / 1000;
    if (error instanceof SecretsUnavailableError && seconds >= 2) {
      throw new SecretSettingError(
        `${error.message} (after ${seconds.toFixed(1)} s: not tried again)`,
        error.setting,
        true,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One JSON call through src/http-call.ts, its result classified by src/call-outcome.ts: done returns the parsed
 * body; not done throws ProviderRejectedError (final) or ProviderUnavailableError (may succeed later); in doubt
 * throws OutcomeInDoubtError. A 2xx whose body does not match its schema is in doubt, never a success. A base URL
 * that cannot be used is an HttpSettingError naming `setting`, thrown before anything is sent.
 */
export async function callJson<T>(
  request: Omit<HttpCall<T>, "answer"> & { answer: z.ZodMiniType<T>; setting: string },
): Promise<T> {
  const { setting, ...call } = request;
  let result: HttpResult<T>;
  try {
    result = await httpCall(call);
  } catch (error) {
    if (error instanceof HttpSettingError) throw new HttpSettingError(`${setting}: ${error.message}`);
    throw error;
  }
  if (result.kind === "answered") return result.value;
  throw errorFor(classifyHttpResult(result), describeHttpResult(result), statusOf(result));
}

function statusOf(result: HttpResult<unknown>): number | undefined {
  return result.kind === "status" || result.kind === "malformed" ? result.status : undefined;
}
