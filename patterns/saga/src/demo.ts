import type { BreakerRecord } from "./breaker";
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  StaleBreakerRecordError,
  type TripDeps,
} from "./deps";
import { createHandler } from "./index";
import type { TripRequest } from "./input";
import { createPaymentHandler, type PaymentDeps } from "./payment";
import { defaultConfig, type SagaConfig } from "./workflow";

/**
 * The simulated outside world, for `pnpm demo saga` and the tests: in-memory providers that record every call
 * and fail on request. Like real providers, each acts once per idempotency key and answers a repeated key with
 * its first answer, so a retry after a lost reply does not book twice.
 */
export type ServiceCall =
  | "flights.reserve"
  | "flights.cancel"
  | "hotels.reserve"
  | "hotels.cancel"
  | "cars.reserve"
  | "cars.cancel"
  | "refunds.refund"
  | "itineraries.confirm"
  | "operations.alert"
  | "gateway.charge";

/**
 * - `unavailable`: fails before doing anything (503), so a retry is safe and needed.
 * - `rejected`: a definite no (4xx), never worth retrying.
 * - `lost-reply`: the provider acts, then the connection drops before the answer arrives. From the caller's
 *   side this is the same as a crash after the call: the step runs again, with the same idempotency key.
 */
export type Fault = "unavailable" | "rejected" | "lost-reply";

export interface WorldOptions {
  /** Faults each call raises on its first uses, in order, before it starts to succeed. */
  faults?: Partial<Record<ServiceCall, Fault[]>>;
  /** Calls that are unavailable every time. */
  down?: ServiceCall[];
  /** The car-rental breaker record to start from (default: none, a closed circuit). */
  breaker?: BreakerRecord;
}

export interface Call {
  call: ServiceCall;
  idempotencyKey: string;
  outcome: "ok" | Fault;
}

const rejections: Record<ServiceCall, string> = {
  "flights.reserve": "no seats left on that flight (409)",
  "flights.cancel": "flight is past its cancellation deadline (409)",
  "hotels.reserve": "hotel is fully booked (409)",
  "hotels.cancel": "hotel rate is non-refundable (409)",
  "cars.reserve": "no cars of that category at the airport (409)",
  "cars.cancel": "car reservation already collected (409)",
  "refunds.refund": "refund refused by the card network (409)",
  "itineraries.confirm": "itinerary service rejected the booking (422)",
  "operations.alert": "alert rejected (400)",
  "gateway.charge": "card declined (402)",
};

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const acted = new Map<string, unknown>();
  const pending = new Map(Object.entries(options.faults ?? {}).map(([call, faults]) => [call, [...faults]]));
  let breaker: BreakerRecord | undefined = options.breaker;
  const breakerWrites: BreakerRecord[] = [];

  const serve = async <T>(call: ServiceCall, idempotencyKey: string, answer: () => T): Promise<T> => {
    const fault = options.down?.includes(call) ? "unavailable" : pending.get(call)?.shift();
    calls.push({ call, idempotencyKey, outcome: fault ?? "ok" });
    if (fault === "unavailable") throw new ProviderUnavailableError(`${call} unavailable (503)`, 503);
    if (fault === "rejected") throw new ProviderRejectedError(rejections[call], 409);
    if (!acted.has(idempotencyKey)) acted.set(idempotencyKey, answer());
    if (fault === "lost-reply")
      throw new ProviderUnavailableError(`${call}: connection reset before the reply`);
    return acted.get(idempotencyKey) as T;
  };
  const bookingOf = (key: string) => key.split(":")[0] ?? key;

  const deps: TripDeps = {
    flights: {
      reserve: (r) =>
        serve("flights.reserve", r.idempotencyKey, () => ({ reservationId: `FL-${r.bookingId}` })),
      cancel: (r) => serve("flights.cancel", r.idempotencyKey, () => undefined),
    },
    hotels: {
      reserve: (r) =>
        serve("hotels.reserve", r.idempotencyKey, () => ({ reservationId: `HT-${r.bookingId}` })),
      cancel: (r) => serve("hotels.cancel", r.idempotencyKey, () => undefined),
    },
    cars: {
      reserve: (r) => serve("cars.reserve", r.idempotencyKey, () => ({ reservationId: `CR-${r.bookingId}` })),
      cancel: (r) => serve("cars.cancel", r.idempotencyKey, () => undefined),
    },
    refunds: { refund: (r) => serve("refunds.refund", r.idempotencyKey, () => undefined) },
    itineraries: {
      confirm: (r) =>
        serve("itineraries.confirm", r.idempotencyKey, () => ({ confirmationNumber: `TRIP-${r.bookingId}` })),
    },
    operations: { alert: (r) => serve("operations.alert", r.idempotencyKey, () => undefined) },
    breakerStore: {
      get: async () => (breaker ? { ...breaker } : undefined),
      put: async (_circuit, record, expectedVersion) => {
        if ((breaker?.version ?? 0) !== expectedVersion) throw new StaleBreakerRecordError();
        breaker = { ...record };
        breakerWrites.push({ ...record });
      },
    },
  };

  const paymentDeps: PaymentDeps = {
    gateway: {
      charge: (r) =>
        serve("gateway.charge", r.idempotencyKey, () => ({ chargeId: `ch-${bookingOf(r.idempotencyKey)}` })),
    },
  };

  return {
    deps,
    paymentDeps,
    calls,
    /** How many times a call was made, retries included. */
    callsTo: (call: ServiceCall) => calls.filter((c) => c.call === call).length,
    /** How many times a call actually acted: distinct idempotency keys that went through. */
    effectsOf: (call: ServiceCall) =>
      new Set(
        calls
          .filter((c) => c.call === call && c.outcome !== "unavailable" && c.outcome !== "rejected")
          .map((c) => c.idempotencyKey),
      ).size,
    /** The breaker record as the store holds it now, and every write made to it. */
    breaker: () => breaker,
    breakerWrites,
    /** Change the store behind the workflow's back, as another execution or an operator would. */
    setBreaker: (record: BreakerRecord | undefined) => {
      breaker = record;
    },
  };
}

export type SimulatedWorld = ReturnType<typeof simulatedWorld>;

/** The id the simulated orchestrator invokes; deployed, it is the payment function's alias ARN. */
export const PAYMENT_FUNCTION_ID = "trip-payment";

export function simulatedConfig(overrides: Partial<SagaConfig> = {}): SagaConfig {
  return { ...defaultConfig, paymentFunctionId: () => PAYMENT_FUNCTION_ID, ...overrides };
}

export const sampleTrip: TripRequest = {
  bookingId: "trip-2041",
  traveller: { customerId: "cust-88", email: "grace@example.com", party: 2 },
  flight: { from: "LHR", to: "JFK", departOn: "2027-05-03", returnOn: "2027-05-10" },
  hotel: { hotelId: "nyc-park-4411" },
  car: { category: "midsize" },
  price: { amountCents: 248_000, currency: "GBP" },
};

/**
 * What `pnpm demo saga` runs: flight, hotel and car are reserved, then the payment function reports a declined
 * card. The saga cancels the car, the hotel (whose first cancel attempt meets an outage and is retried) and the
 * flight, newest first, and the booking fails naming the declined card and what was undone.
 */
export const demo = {
  title: "Trip booking saga: the card is declined, so car, hotel and flight are cancelled newest first",
  // The booking fails on purpose, so `pnpm demo saga` exits 1 after showing the compensations.
  expectedStatus: "FAILED" as const,
  event: sampleTrip,
  createHandler: () =>
    createHandler(simulatedWorld({ faults: { "hotels.cancel": ["unavailable"] } }).deps, simulatedConfig()),
  durableFunctions: {
    [PAYMENT_FUNCTION_ID]: () =>
      createPaymentHandler(simulatedWorld({ faults: { "gateway.charge": ["rejected"] } }).paymentDeps),
  },
};
