import * as z from "zod/mini";

/**
 * What each provider promises to answer. An answer is input: a 2xx whose body does not match is not a success
 * we can use (we cannot read what the provider did), so the HTTP deps classify it as in doubt, and the step
 * settles it like a timeout. Unknown extra fields are ignored: none of them changes what was done.
 */
const id = z.string().check(z.minLength(1), z.maxLength(200));

export const ReservationAnswer = z.object({ reservationId: id, expiresAt: z.iso.datetime() });

export const ChargeAnswer = z.object({ chargeId: id });

/** The charge the gateway holds under an idempotency key: checked against what the workflow asked for. */
export const FoundChargeAnswer = z.object({
  chargeId: id,
  amountCents: z.number().check(z.int()),
  currency: z.string(),
});

export const ShipmentAnswer = z.object({ trackingNumber: id, carrier: id });

/** Releases and messages answer with any body (often none): a 2xx is all they promise. */
export const AnyAnswer = z.unknown();
