import * as z from "zod/mini";

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * What each provider promises to answer, parsed at the boundary. A 2xx whose body does not match is not a
 * success: the provider may have acted and we cannot read what it did, so it is in doubt (src/call-outcome.ts).
 * Extra fields are ignored (loose): they cannot change what an id or a status means.
 */
const Id = z.string().check(
  // A blank id ("", "   ") names nothing: cancelling it would hit `reservations/%20/cancel` and leave the real
  // reservation held. Such an answer is malformed, hence in doubt, and settled by key.
  z.refine((id) => id.trim() !== "", "must not be blank"),
  // An id with control characters (CR/LF, ANSI escapes, line separators) would land raw in the booking's result,
  // in log lines and in the itinerary sent to the traveller. No provider's id needs one: malformed, in doubt.
  z.refine((id) => !CONTROL_CHARACTERS.test(id), "must not contain control characters"),
  z.maxLength(256),
);

export const ReservationAnswer = z.object({ reservationId: Id });
export const ChargeAnswer = z.object({ chargeId: Id });
export const ConfirmationAnswer = z.object({ confirmationNumber: Id });
/** A cancellation, refund or alert: an empty body or any JSON object acknowledges it. */
export const AcknowledgementAnswer = z.optional(z.looseObject({}));

/** A look-up by idempotency key: 200 with what was done under that key; 404 means nothing was. */
export const ReservationLookUpAnswer = z.object({
  reservationId: Id,
  status: z.enum(["held", "cancelled", "confirmed"]),
});
/** With what was charged: a charge found by key is checked against what was asked before it is believed. */
export const ChargeLookUpAnswer = z.object({
  chargeId: Id,
  status: z.enum(["charged", "refunded"]),
  amountCents: z.number().check(z.int()),
  currency: z.string(),
});

/**
 * What the payment function answers (src/payment.ts's PaymentResult), as the saga reads it: another function's
 * answer is input too. Exactly these three shapes; anything else (a lower-case status, no charge id, a bare
 * string) is not a charge, and not a decline either: it is in doubt.
 */
export const PaymentAnswer = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("CHARGED"),
    chargeId: Id,
    amountCents: z.number().check(z.int()),
    currency: z.string(),
    settledBy: z.enum(["charge", "look-up"]),
  }),
  z.object({ status: z.literal("DECLINED"), reason: z.string() }),
  z.object({ status: z.literal("IN_DOUBT"), reason: z.string() }),
]);
