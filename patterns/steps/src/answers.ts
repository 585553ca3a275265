import * as z from "zod/mini";

/**
 * What each provider promises to answer. An answer is input: one that does not match is not a success we can use
 * (we cannot read what the provider did), so it is in doubt, and the step settles it like a timeout. Unknown extra
 * fields are ignored: none of them changes what was done.
 *
 * Two layers use these. The HTTP deps parse the wire (JSON, dates as strings). The workflow checks what any deps
 * return (src/provider-call.ts) before it uses it, so deps written for another provider are held to the same
 * contract.
 */
/**
 * A provider's id (a reservation, a charge, a tracking number, a carrier): 1 to 128 letters, digits, dots, dashes
 * and underscores. It goes on to other providers (the reservation id to the carrier), into the result, messages
 * and logs, so an id with a control character, a line break or anything else odd (`res_1\u001b[2J\nFORGED LOG
 * LINE`) is not an id we can use: a 2xx carrying one is malformed, and in doubt like any other.
 */
const id = z
  .string()
  .check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "must be 1-128 letters, digits, dots, dashes or underscores"));

export const ReservationAnswer = z.object({ reservationId: id, expiresAt: z.iso.datetime() });

/** A charge the gateway made or holds: its id, and what it charged, which the workflow compares to what it asked. */
export const ChargeAnswer = z.object({
  chargeId: id,
  amountCents: z.number().check(z.int()),
  currency: z.string(),
});

/** The charge the gateway holds under an idempotency key: checked against what the workflow asked for. */
export const FoundChargeAnswer = ChargeAnswer;

/**
 * The gateway's "no charge under this key": a 404 whose JSON body names the key asked for. Any other 404 (a
 * proxy's page, a missing route) says nothing about the charge, and is in doubt.
 */
export const NoChargeAnswer = z.object({
  // Compared with the key asked for, character for character: not an id of the gateway's, so not held to `id`.
  idempotencyKey: z.string().check(z.minLength(1), z.maxLength(200)),
});

export const ShipmentAnswer = z.object({ trackingNumber: id, carrier: id });

/** Releases and messages answer with any body (often none): a 2xx is all they promise. */
export const AnyAnswer = z.unknown();

/** What the workflow accepts from any deps: a reservation with an id and a real date. */
export const ReservationReply = z.object({ reservationId: id, expiresAt: z.date() });

/** What the workflow accepts from any deps' look-up: the charge, or null for "none" (and nothing else). */
export const FoundChargeReply = z.nullable(ChargeAnswer);
