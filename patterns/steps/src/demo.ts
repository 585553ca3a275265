import { createHandler } from "./index";
import { classifyStatus, type Classification } from "./call-outcome";
import { errorFor, OutcomeInDoubtError, PROVIDER_CONTRACTS, Reservation, type OrderDeps } from "./deps";
import type { Order } from "./input";

/**
 * The simulated outside world, for `pnpm demo steps` and the tests: in-memory providers that keep their own
 * records (what is held, charged, shipped, sent) and fail on request, as the real ones would.
 *
 * - The inventory, the carrier and the notifier honour idempotency keys: a repeated key gets the first answer
 *   and nothing is done twice.
 * - The payment gateway does not (some gateways forget keys after a while, some never had them): every charge
 *   request charges. Only the workflow's look-up by key keeps a charge in doubt from being charged twice.
 */
export type Fault =
  /** The provider says no (422; 402 for a charge): nothing done. */
  | "refused"
  /** 429 before acting: nothing done. */
  | "throttled"
  /** 503 before acting: nothing done (the gateway's contract does not say so, so the client sees it in doubt). */
  | "unavailable"
  /** The request timed out before the provider saw it: nothing done, and the caller cannot know. */
  | "lost-request"
  /** The provider acted, then the reply was lost (a timeout): done, and the caller cannot know. */
  | "lost-reply"
  /**
   * Whatever deps might throw (a 40 KB error page, a TypeError, a string), before the provider acted or after.
   * For the faults no HTTP client would raise, but deps written by hand can.
   */
  | { throws: () => unknown; acted: boolean };

/** Every call the providers answer, by what it does. */
export type CallName =
  "reserve" | "release" | "charge" | "find-charge" | "ship" | "email-tracking" | "review-request";

export interface WorldOptions {
  /**
   * Faults a call raises on its first attempts, in order, before it starts to succeed; "ok" answers normally
   * (the charge step's look-up before charging is the first "find-charge": `["ok", "unavailable", ...]`).
   */
  faults?: Partial<Record<CallName, (Fault | "ok")[]>>;
  /** A fault a call raises on every attempt. */
  always?: Partial<Record<CallName, Fault>>;
  /**
   * What a provider answers instead of its real answer, after it acted: a forged, malformed or foreign answer,
   * as a provider (or deps written for it) might return. The records keep what the provider really did.
   */
  answers?: Partial<Record<CallName, (real: unknown) => unknown>>;
  /** How long the inventory holds a reservation: 15 minutes unless a test says otherwise. */
  reservationTtlMs?: number;
}

export interface Call {
  call: CallName;
  idempotencyKey: string;
  outcome: "ok" | Fault;
}

/** The providers' own records: what they did, whatever the workflow was told. */
export interface Records {
  /** Stock held or released, one entry per reservation key. */
  stock: { reservationKey: string; reservationId: string; status: "held" | "released"; expiresAt: Date }[];
  /** Every charge the gateway made. */
  charges: { chargeId: string; idempotencyKey: string; amountCents: number; currency: string }[];
  /** Every shipment the carrier created, against which reservation, and when. */
  shipments: { idempotencyKey: string; trackingNumber: string; reservationId: string; at: Date }[];
  /** Every message the notifier sent. */
  sent: { idempotencyKey: string; template: string; to: string; data: Record<string, string> }[];
}

const STATUS: Record<"refused" | "throttled" | "unavailable", number> = {
  refused: 422,
  throttled: 429,
  unavailable: 503,
};
const SERVICE: Record<CallName, keyof typeof PROVIDER_CONTRACTS> = {
  reserve: "inventory",
  release: "inventory",
  charge: "payments",
  "find-charge": "payments",
  ship: "shipping",
  "email-tracking": "notifier",
  "review-request": "notifier",
};

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const records: Records = { stock: [], charges: [], shipments: [], sent: [] };
  const pending = new Map(Object.entries(options.faults ?? {}).map(([call, faults]) => [call, [...faults]]));

  /**
   * One call: the fault planned for it, if any, then `act` (what the provider does) unless the fault came
   * before acting. The error the client sees is built by the same classification as the real HTTP deps.
   */
  const serve = async <T>(call: CallName, idempotencyKey: string, act: () => T): Promise<T> => {
    const planned = options.always?.[call] ?? pending.get(call)?.shift();
    const fault = planned === "ok" ? undefined : planned;
    calls.push({ call, idempotencyKey, outcome: fault ?? "ok" });
    const service = SERVICE[call];
    if (typeof fault === "object") {
      if (fault.acted) act();
      throw fault.throws();
    }
    if (fault === "lost-request") throw timeout(service);
    if (fault === "refused" || fault === "throttled" || fault === "unavailable") {
      const status = call === "charge" && fault === "refused" ? 402 : STATUS[fault];
      const classification: Classification = classifyStatus(status, PROVIDER_CONTRACTS[service]);
      throw errorFor(classification, `${service} answered ${status}`, status);
    }
    const answer = act();
    if (fault === "lost-reply") throw timeout(service);
    const forge = options.answers?.[call];
    return forge ? (forge(answer) as T) : answer;
  };

  /** A provider that honours keys: the first answer under a key is the answer, whatever is asked again. */
  const firstAnswers = new Map<string, unknown>();
  const once =
    <T>(key: string, act: () => T) =>
    (): T => {
      if (!firstAnswers.has(key)) firstAnswers.set(key, act());
      return firstAnswers.get(key) as T;
    };

  const deps: OrderDeps = {
    inventory: {
      reserve: ({ orderId, idempotencyKey }) =>
        serve(
          "reserve",
          idempotencyKey,
          once(idempotencyKey, () => {
            const reservationId = `res-${orderId}`;
            const expiresAt = new Date(Date.now() + (options.reservationTtlMs ?? 15 * 60 * 1000));
            records.stock.push({ reservationKey: idempotencyKey, reservationId, status: "held", expiresAt });
            return Reservation.of(reservationId, expiresAt);
          }),
        ),
      release: ({ reservationKey, idempotencyKey }) =>
        serve("release", idempotencyKey, () => {
          // Harmless when nothing is held under the key: there is simply nothing to release.
          for (const held of records.stock.filter((entry) => entry.reservationKey === reservationKey)) {
            held.status = "released";
          }
        }),
    },
    payments: {
      charge: ({ orderId, amountCents, currency, idempotencyKey }) =>
        serve("charge", idempotencyKey, () => {
          const n = records.charges.length + 1;
          const chargeId = n === 1 ? `ch-${orderId}` : `ch-${orderId}-${n}`;
          records.charges.push({ chargeId, idempotencyKey, amountCents, currency });
          return { chargeId, amountCents, currency };
        }),
      findCharge: ({ idempotencyKey }) =>
        serve("find-charge", idempotencyKey, () => {
          const charge = records.charges.find((entry) => entry.idempotencyKey === idempotencyKey);
          return charge
            ? { chargeId: charge.chargeId, amountCents: charge.amountCents, currency: charge.currency }
            : null;
        }),
    },
    shipping: {
      createShipment: ({ orderId, reservationId, idempotencyKey }) =>
        serve(
          "ship",
          idempotencyKey,
          once(idempotencyKey, () => {
            const shipment = { carrier: "UPS", trackingNumber: `1Z-${orderId}` };
            const at = new Date();
            records.shipments.push({
              idempotencyKey,
              trackingNumber: shipment.trackingNumber,
              reservationId,
              at,
            });
            return shipment;
          }),
        ),
    },
    notifier: {
      send: ({ to, template, data, idempotencyKey }) =>
        serve(
          template === "review-request" ? "review-request" : "email-tracking",
          idempotencyKey,
          once(idempotencyKey, () => void records.sent.push({ idempotencyKey, template, to, data })),
        ),
    },
  };

  /** How many times a call was made, retries included. */
  const callsTo = (call: CallName) => calls.filter((entry) => entry.call === call).length;
  /** Stock still held: reserved and never released. */
  const held = () => records.stock.filter((entry) => entry.status === "held");
  return { deps, calls, callsTo, records, held };
}

function timeout(service: keyof typeof PROVIDER_CONTRACTS): OutcomeInDoubtError {
  return new OutcomeInDoubtError(
    `${service} did not answer in time (timed out: the provider may have acted)`,
  );
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

/**
 * What `pnpm demo steps` runs: the inventory is unavailable on the first call, so a retry shows; the gateway
 * charges and its reply is lost, so the charge is in doubt and is settled by looking it up by its key.
 */
export const demo = {
  title: "Order fulfilment: retries, a charge in doubt settled by its key, child context, a 3-day wait",
  event: sampleOrder,
  createHandler: () =>
    createHandler(simulatedWorld({ faults: { reserve: ["unavailable"], charge: ["lost-reply"] } }).deps),
};
