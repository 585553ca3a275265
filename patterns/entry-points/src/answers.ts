// zod/mini, as in input.ts: the same checks, a few KB in the Lambda bundle.
import * as z from "zod/mini";
import { PAYMENT_ID } from "./input";
import { PaymentInDoubtError, TransientServiceError, type ProviderRecord } from "./payment-outcome";

/**
 * What each service's answer must look like before the workflow acts on it. Answers are input: a dependency
 * written by someone else (or a provider's bad day) can return anything, and the workflow checks it here,
 * inside the step that made the call, so a malformed answer is retried with the same key like any other
 * answer that settles nothing. A malformed answer is never read as paid, as not paid or as shipped. The HTTP
 * dependencies (deps.ts) parse each body with the same schemas as it arrives, so a custom dependency and the
 * real one are held to one shape.
 */
export const PaymentAccepted = z.object({ paymentId: z.string().check(z.regex(PAYMENT_ID)) });

export const PaymentRecord = z.object({
  status: z.enum(["pending", "succeeded", "failed"]),
  paymentId: z.string().check(z.regex(PAYMENT_ID)),
});

/**
 * A void's answer: voided, too late ("succeeded": captured before the void arrived) or nothing to void for this key.
 * Anything else, `{}`, an HTML page from a proxy, an empty 204, another status, is no answer: never "voided".
 */
export const VoidAnswer = z.object({ status: z.enum(["voided", "succeeded", "not-found"]) });

export const Shipment = z.object({ shipmentId: z.string().check(z.minLength(1), z.maxLength(128)) });

/** A payment request's answer: a payment id, or in doubt (the provider may have created one). */
export function paymentAccepted(answer: unknown): { paymentId: string } {
  const parsed = PaymentAccepted.safeParse(answer);
  if (!parsed.success)
    throw new PaymentInDoubtError("the payment request answered without a usable payment id");
  return { paymentId: parsed.data.paymentId };
}

/** A look-up's answer: undefined is "no payment for this key"; anything else must be a whole record. */
export function paymentRecord(answer: unknown): ProviderRecord {
  if (answer === undefined) return undefined;
  const parsed = PaymentRecord.safeParse(answer);
  // Not even null is "none": only the dependency's explicit undefined is. A wrong shape settles nothing.
  if (!parsed.success)
    throw new PaymentInDoubtError("the payment look-up answered something that is not a payment record");
  return { status: parsed.data.status, paymentId: parsed.data.paymentId };
}

export function voidAnswer(answer: unknown): { status: "voided" | "succeeded" | "not-found" } {
  const parsed = VoidAnswer.safeParse(answer);
  if (!parsed.success)
    throw new PaymentInDoubtError("the payment void answered something that is not a void outcome");
  return { status: parsed.data.status };
}

/** A shipment's answer: its id, or in doubt (the warehouse may have shipped: retried with the same key). */
export function shipment(answer: unknown): { shipmentId: string } {
  const parsed = Shipment.safeParse(answer);
  if (!parsed.success) throw new TransientServiceError("the warehouse answered without a shipment id");
  return { shipmentId: parsed.data.shipmentId };
}
