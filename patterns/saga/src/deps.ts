import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { BreakerRecord } from "./breaker";

/**
 * The outside world of the trip saga. Every call is a side effect, so the workflow makes each one inside a
 * step, and each carries an idempotency key derived from the booking id and the operation name: a retry, or a
 * replay after a crash, sends the same key, and the provider answers with what it did the first time.
 */
export interface Reservation {
  reservationId: string;
}

export interface Flights {
  reserve(request: {
    bookingId: string;
    from: string;
    to: string;
    departOn: string;
    returnOn: string;
    travellers: number;
    idempotencyKey: string;
  }): Promise<Reservation>;
  cancel(request: { reservationId: string; idempotencyKey: string }): Promise<void>;
}

export interface Hotels {
  reserve(request: {
    bookingId: string;
    hotelId: string;
    checkIn: string;
    checkOut: string;
    guests: number;
    idempotencyKey: string;
  }): Promise<Reservation>;
  cancel(request: { reservationId: string; idempotencyKey: string }): Promise<void>;
}

export interface CarRental {
  reserve(request: {
    bookingId: string;
    pickUpAt: string;
    from: string;
    to: string;
    category: string;
    idempotencyKey: string;
  }): Promise<Reservation>;
  cancel(request: { reservationId: string; idempotencyKey: string }): Promise<void>;
}

/** The orchestrator only refunds: charging is the payment function's job (src/payment.ts). */
export interface Refunds {
  refund(request: {
    chargeId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<void>;
}

export interface Itineraries {
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
  flights: Flights;
  hotels: Hotels;
  cars: CarRental;
  refunds: Refunds;
  itineraries: Itineraries;
  operations: Operations;
  breakerStore: BreakerStore;
}

/**
 * The provider was unavailable, throttled us, timed out or dropped the connection (5xx, 429, network): the same
 * request may succeed later, and with its idempotency key it is safe to send again.
 * Arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as `new () => Error`.
 */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
  constructor(
    message = "Provider unavailable",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The provider said no for good (4xx: sold out, card declined, past the cancellation deadline). */
export class ProviderRejectedError extends Error {
  override readonly name = "ProviderRejectedError";
  constructor(
    message = "Provider rejected the request",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Someone else wrote the breaker record between our read and our write. Retry with a fresh read. */
export class StaleBreakerRecordError extends Error {
  override readonly name = "StaleBreakerRecordError";
  constructor(message = "The breaker record changed since it was read") {
    super(message);
  }
}

export interface HttpProvidersConfig {
  flightsUrl: string;
  hotelsUrl: string;
  carsUrl: string;
  paymentsUrl: string;
  itinerariesUrl: string;
  operationsUrl: string;
  apiToken?: string;
  timeoutMs?: number;
}

export interface RealDepsConfig extends HttpProvidersConfig {
  breakerTable: string;
}

/**
 * The real dependencies: JSON over HTTP to each provider with an `Idempotency-Key` header, and the breaker
 * state in a DynamoDB table (partition key `circuit`, a string). Configuration is read on each call, so inside
 * the step that makes it, and a missing variable never breaks the import.
 */
export function createRealDeps(
  config: () => RealDepsConfig = configFromEnv,
  dynamodb: () => DynamoDBClient = lazyDynamoDbClient(),
): TripDeps {
  const post = async <T>(
    service: keyof HttpProvidersConfig,
    path: string,
    body: object,
    idempotencyKey: string,
  ) => {
    const settings = config();
    const baseUrl = settings[service];
    if (typeof baseUrl !== "string" || baseUrl === "") {
      throw new ProviderRejectedError(`No URL configured for ${service}`);
    }
    return postJson<T>(endpoint(baseUrl, path), body, {
      idempotencyKey,
      apiToken: settings.apiToken,
      timeoutMs: settings.timeoutMs ?? 10_000,
    });
  };
  const cancel =
    (service: keyof HttpProvidersConfig) =>
    async ({ reservationId, idempotencyKey }: { reservationId: string; idempotencyKey: string }) => {
      await post(service, `reservations/${encodeURIComponent(reservationId)}/cancel`, {}, idempotencyKey);
    };
  return {
    flights: {
      reserve: ({ idempotencyKey, ...request }) =>
        post("flightsUrl", "reservations", request, idempotencyKey),
      cancel: cancel("flightsUrl"),
    },
    hotels: {
      reserve: ({ idempotencyKey, ...request }) => post("hotelsUrl", "reservations", request, idempotencyKey),
      cancel: cancel("hotelsUrl"),
    },
    cars: {
      reserve: ({ idempotencyKey, ...request }) => post("carsUrl", "reservations", request, idempotencyKey),
      cancel: cancel("carsUrl"),
    },
    refunds: {
      refund: async ({ idempotencyKey, chargeId, ...request }) => {
        await post("paymentsUrl", `charges/${encodeURIComponent(chargeId)}/refunds`, request, idempotencyKey);
      },
    },
    itineraries: {
      confirm: ({ idempotencyKey, ...request }) =>
        post("itinerariesUrl", "itineraries", request, idempotencyKey),
    },
    operations: {
      alert: async ({ idempotencyKey, ...request }) => {
        await post("operationsUrl", "alerts", request, idempotencyKey);
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
    apiToken: process.env.TRIP_API_TOKEN,
    breakerTable: process.env.BREAKER_TABLE_NAME ?? "",
  };
}

/** One client per sandbox, made on first use (not at import time). */
function lazyDynamoDbClient(): () => DynamoDBClient {
  let client: DynamoDBClient | undefined;
  return () => (client ??= new DynamoDBClient({}));
}

/**
 * The breaker record as a DynamoDB item. Reads are strongly consistent and writes are conditional on the
 * version, so two executions that record a failure at the same time cannot lose one of the two counts.
 */
export function createDynamoDbBreakerStore(
  tableName: () => string,
  client: () => DynamoDBClient,
): BreakerStore {
  const table = () => {
    const name = tableName();
    if (name === "") throw new Error("BREAKER_TABLE_NAME is not set");
    return name;
  };
  return {
    async get(circuit) {
      const { Item } = await client().send(
        new GetItemCommand({ TableName: table(), Key: { circuit: { S: circuit } }, ConsistentRead: true }),
      );
      if (!Item) return undefined;
      return {
        state: Item.state?.S === "open" ? "open" : "closed",
        consecutiveFailures: Number(Item.consecutiveFailures?.N ?? "0"),
        ...(Item.openedAt?.N ? { openedAt: Number(Item.openedAt.N) } : {}),
        version: Number(Item.version?.N ?? "0"),
      };
    },
    async put(circuit, record, expectedVersion) {
      try {
        await client().send(
          new PutItemCommand({
            TableName: table(),
            Item: {
              circuit: { S: circuit },
              state: { S: record.state },
              consecutiveFailures: { N: String(record.consecutiveFailures) },
              ...(record.openedAt === undefined ? {} : { openedAt: { N: String(record.openedAt) } }),
              version: { N: String(record.version) },
            },
            ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
            ExpressionAttributeValues: { ":expected": { N: String(expectedVersion) } },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw new StaleBreakerRecordError();
        throw error;
      }
    },
  };
}

/**
 * `path` under `baseUrl`, whether or not the configured URL ends in a slash: `new URL("reservations",
 * "https://api.example.com/flights")` alone would drop `/flights`.
 */
export function endpoint(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
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
    throw new ProviderUnavailableError(`POST ${url} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (response.status === 429 || response.status >= 500) {
    throw new ProviderUnavailableError(`POST ${url} answered ${response.status}: ${text}`, response.status);
  }
  if (!response.ok) {
    throw new ProviderRejectedError(`POST ${url} answered ${response.status}: ${text}`, response.status);
  }
  return (text === "" ? undefined : JSON.parse(text)) as T;
}
