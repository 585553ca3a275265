import type { BreakerRecord } from "./breaker";
import {
  OutcomeInDoubtError,
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
 * The simulated outside world, for `pnpm demo saga` and the tests: in-memory providers that keep their own
 * records (what is held, charged, refunded, alerted, confirmed), record every call and fail on request. Like
 * real providers, each acts once per idempotency key and answers a repeated key with its first answer, and
 * each answers a look-up by key.
 */
export type ServiceCall =
  | "flights.reserve"
  | "flights.cancel"
  | "flights.find"
  | "hotels.reserve"
  | "hotels.cancel"
  | "hotels.find"
  | "cars.reserve"
  | "cars.cancel"
  | "cars.find"
  | "refunds.refund"
  | "refunds.findCharge"
  | "itineraries.find"
  | "itineraries.confirm"
  | "operations.alert"
  | "gateway.charge"
  | "gateway.findCharge";

/**
 * - `unavailable`: fails before doing anything (503, and the contract says no action): not done, retried.
 * - `rejected`: a definite no (409, 402, 422): not done, never retried.
 * - `lost-reply`: the provider acts, then the reply is lost (a timeout): in doubt, and it did act.
 * - `server-error`: a 500 without acting: in doubt to the caller, though nothing happened.
 */
export type Fault = "unavailable" | "rejected" | "lost-reply" | "server-error";

export interface WorldOptions {
  /** Faults each call raises on its first uses, in order, before it starts to succeed. */
  faults?: Partial<Record<ServiceCall, Fault[]>>;
  /** Calls that are unavailable every time (503, nothing done). */
  down?: ServiceCall[];
  /** Calls that act every time and whose every reply is lost (timeouts): in doubt until looked up. */
  unanswered?: ServiceCall[];
  /** The car-rental breaker record to start from (default: none, a closed circuit). */
  breaker?: BreakerRecord;
  /** Breaker store operations that fail every time (throttled, access denied). */
  breakerFailing?: ("get" | "put")[];
}

export interface Call {
  call: ServiceCall;
  idempotencyKey: string;
  outcome: "ok" | Fault;
}

/** A reservation as its provider records it. */
export interface HeldRecord {
  service: "flights" | "hotels" | "cars";
  reservationId: string;
  bookingId: string;
  idempotencyKey: string;
  status: "held" | "cancelled";
}

/** A charge as the gateway records it. */
export interface ChargeRecord {
  chargeId: string;
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  status: "charged" | "refunded";
}

const rejections: Record<ServiceCall, string> = {
  "flights.reserve": "no seats left on that flight (409)",
  "flights.cancel": "flight is past its cancellation deadline (409)",
  "flights.find": "look-up refused (403)",
  "hotels.reserve": "hotel is fully booked (409)",
  "hotels.cancel": "hotel rate is non-refundable (409)",
  "hotels.find": "look-up refused (403)",
  "cars.reserve": "no cars of that category at the airport (409)",
  "cars.cancel": "car reservation already collected (409)",
  "cars.find": "look-up refused (403)",
  "refunds.refund": "refund refused by the card network (409)",
  "refunds.findCharge": "look-up refused (403)",
  "itineraries.find": "look-up refused (403)",
  "itineraries.confirm": "itinerary service rejected the booking (422)",
  "operations.alert": "alert rejected (400)",
  "gateway.charge": "card declined (402)",
  "gateway.findCharge": "look-up refused (403)",
};
const prefixes = { flights: "FL", hotels: "HT", cars: "CR" } as const;

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const acted = new Map<string, unknown>();
  const pending = new Map(Object.entries(options.faults ?? {}).map(([call, faults]) => [call, [...faults]]));
  let breaker: BreakerRecord | undefined = options.breaker;
  const breakerWrites: BreakerRecord[] = [];
  const reservations: HeldRecord[] = [];
  const charges: ChargeRecord[] = [];
  const alerts: Parameters<TripDeps["operations"]["alert"]>[0][] = [];
  const itineraries: Parameters<TripDeps["itineraries"]["confirm"]>[0][] = [];
  /** Ids are readable and unique: FL-trip-2041, then FL-trip-2041-2 for a second attempt. */
  const nextId = (prefix: string, bookingId: string, taken: string[]) => {
    const first = `${prefix}-${bookingId}`;
    let id = first;
    for (let n = 2; taken.includes(id); n += 1) id = `${first}-${n}`;
    return id;
  };

  const serve = async <T>(call: ServiceCall, idempotencyKey: string, act: () => T): Promise<T> => {
    const fault = options.down?.includes(call)
      ? "unavailable"
      : options.unanswered?.includes(call)
        ? "lost-reply"
        : pending.get(call)?.shift();
    calls.push({ call, idempotencyKey, outcome: fault ?? "ok" });
    if (fault === "unavailable") throw new ProviderUnavailableError(`${call} unavailable (503)`, 503);
    if (fault === "rejected") throw new ProviderRejectedError(rejections[call], 409);
    if (fault === "server-error") throw new OutcomeInDoubtError(`${call} answered 500`, 500);
    // Acting once per key is what makes a retry with the same key safe: a repeat gets the first answer.
    if (!acted.has(idempotencyKey)) acted.set(idempotencyKey, act());
    if (fault === "lost-reply") throw new OutcomeInDoubtError(`${call}: timed out after sending the request`);
    return acted.get(idempotencyKey) as T;
  };
  /** Look-ups are reads: not keyed, answered from the provider's own records. */
  const lookUp = async <T>(call: ServiceCall, idempotencyKey: string, answer: () => T): Promise<T> => {
    const fault = options.down?.includes(call) ? "unavailable" : pending.get(call)?.shift();
    calls.push({ call, idempotencyKey, outcome: fault ?? "ok" });
    if (fault === "unavailable") throw new ProviderUnavailableError(`${call} unavailable (503)`, 503);
    if (fault === "rejected") throw new ProviderRejectedError(rejections[call], 403);
    if (fault === "lost-reply" || fault === "server-error")
      throw new OutcomeInDoubtError(`${call}: timed out`);
    return answer();
  };

  const provider = (service: HeldRecord["service"]) => ({
    reserve: (r: { bookingId: string; idempotencyKey: string }) =>
      serve(`${service}.reserve`, r.idempotencyKey, () => {
        const reservationId = nextId(
          prefixes[service],
          r.bookingId,
          reservations.map((held) => held.reservationId),
        );
        reservations.push({
          service,
          reservationId,
          bookingId: r.bookingId,
          idempotencyKey: r.idempotencyKey,
          status: "held",
        });
        return { reservationId };
      }),
    cancel: (r: { reservationId: string; idempotencyKey: string }) =>
      serve(`${service}.cancel`, r.idempotencyKey, () => {
        const held = reservations.find((h) => h.service === service && h.reservationId === r.reservationId);
        if (!held) throw new ProviderRejectedError(`no reservation ${r.reservationId} (404)`, 404);
        held.status = "cancelled";
      }),
    find: (r: { idempotencyKey: string }) =>
      lookUp(`${service}.find`, r.idempotencyKey, () => {
        const held = reservations.find((h) => h.service === service && h.idempotencyKey === r.idempotencyKey);
        return held && { reservationId: held.reservationId, status: held.status };
      }),
  });
  const findCharge = (call: "refunds.findCharge" | "gateway.findCharge") => (r: { idempotencyKey: string }) =>
    lookUp(call, r.idempotencyKey, () => {
      const charge = charges.find((c) => c.idempotencyKey === r.idempotencyKey);
      return (
        charge && {
          chargeId: charge.chargeId,
          status: charge.status,
          amountCents: charge.amountCents,
          currency: charge.currency,
        }
      );
    });
  const failingStore = (operation: "get" | "put") => {
    if (options.breakerFailing?.includes(operation)) {
      throw new Error(`breaker store ${operation}: AccessDeniedException (simulated)`);
    }
  };

  const deps: TripDeps = {
    flights: provider("flights"),
    hotels: provider("hotels"),
    cars: provider("cars"),
    refunds: {
      refund: (r) =>
        serve("refunds.refund", r.idempotencyKey, () => {
          const charge = charges.find((c) => c.chargeId === r.chargeId);
          if (!charge) throw new ProviderRejectedError(`no charge ${r.chargeId} (404)`, 404);
          charge.status = "refunded";
        }),
      findCharge: findCharge("refunds.findCharge"),
    },
    itineraries: {
      // A look-up by booking id, not by key: it asks whether any execution confirmed this booking.
      find: (r) =>
        lookUp("itineraries.find", r.bookingId, () => {
          const itinerary = itineraries.find((i) => i.bookingId === r.bookingId);
          return itinerary && { confirmationNumber: `TRIP-${itinerary.bookingId}` };
        }),
      confirm: (r) =>
        serve("itineraries.confirm", r.idempotencyKey, () => {
          // The contract of the README: one itinerary per booking id. Another execution's confirmation for a
          // booking id already confirmed is refused, so that duplicate compensates instead of charging twice.
          if (itineraries.some((itinerary) => itinerary.bookingId === r.bookingId)) {
            throw new ProviderRejectedError(`booking ${r.bookingId} is already confirmed (409)`, 409);
          }
          itineraries.push({ ...r });
          return { confirmationNumber: `TRIP-${r.bookingId}` };
        }),
    },
    operations: {
      alert: (r) =>
        serve("operations.alert", r.idempotencyKey, () => {
          alerts.push(structuredClone(r));
        }),
    },
    breakerStore: {
      get: async () => (failingStore("get"), breaker ? { ...breaker } : undefined),
      put: async (_circuit, record, expectedVersion) => {
        failingStore("put");
        if ((breaker?.version ?? 0) !== expectedVersion) throw new StaleBreakerRecordError();
        breaker = { ...record };
        breakerWrites.push({ ...record });
      },
    },
  };

  const paymentDeps: PaymentDeps = {
    gateway: {
      charge: (r) =>
        serve("gateway.charge", r.idempotencyKey, () => {
          const chargeId = nextId(
            "ch",
            r.bookingId,
            charges.map((c) => c.chargeId),
          );
          charges.push({
            chargeId,
            idempotencyKey: r.idempotencyKey,
            amountCents: r.amountCents,
            currency: r.currency,
            status: "charged",
          });
          return { chargeId };
        }),
      findCharge: findCharge("gateway.findCharge"),
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
          .filter((c) => c.call === call && (c.outcome === "ok" || c.outcome === "lost-reply"))
          .map((c) => c.idempotencyKey),
      ).size,
    /** The providers' own records. */
    reservations,
    charges,
    alerts,
    itineraries,
    /** What is still held (reservations) or charged (not refunded): what a failed booking must leave empty. */
    held: () => reservations.filter((r) => r.status === "held").map((r) => r.reservationId),
    charged: () => charges.filter((c) => c.status === "charged").map((c) => c.chargeId),
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
