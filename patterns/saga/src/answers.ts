import * as z from "zod/mini";

/**
 * What each provider promises to answer, parsed at the boundary. A 2xx whose body does not match is not a
 * success: the provider may have acted and we cannot read what it did, so it is in doubt (src/call-outcome.ts).
 * Extra fields are ignored (loose): they cannot change what an id or a status means.
 */
const Id = z.string().check(z.minLength(1), z.maxLength(256));

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
