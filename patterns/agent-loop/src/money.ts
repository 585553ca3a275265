import * as z from "zod/mini";

/**
 * Every amount is an integer number of the currency's minor units (cents), never a float, and is bounded,
 * so every sum the refund guard makes is exact: 1,000 amounts of at most MAX_AMOUNT_CENTS add up to
 * 10^10, far below Number.MAX_SAFE_INTEGER (about 9 * 10^15).
 */
export const MAX_AMOUNT_CENTS = 10_000_000; // 100,000.00: no order or refund of this shop is larger

/** The largest refund one request may ask for. Anything larger is not the agent's to ask: a person handles it. */
export const MAX_REFUND_CENTS = 100_000; // 1,000.00

/** The most prior refunds an order may list; more than that is not an answer the guard can trust. */
export const MAX_PRIOR_REFUNDS = 1000;

/** A whole number of cents, from 0 (or 1) to `max`. */
export function cents(options: { min?: 0 | 1; max?: number } = {}) {
  const { min = 0, max = MAX_AMOUNT_CENTS } = options;
  return z
    .number()
    .check(
      z.int("must be a whole number of cents"),
      min === 1 ? z.positive("must be positive") : z.nonnegative("must not be negative"),
      z.lte(max, `must be at most ${max} cents`),
    );
}

/** A three-letter ISO 4217 currency code. */
export const Currency = z.string().check(z.regex(/^[A-Z]{3}$/, "must be a currency code like EUR"));

/**
 * Whether a value is a whole number of cents from `min` to `max`. The refund guard checks every fact
 * with it itself, whoever supplied them: NaN, Infinity, a float or a negative never enters a sum.
 */
export function isCents(value: unknown, options: { min?: 0 | 1; max?: number } = {}): value is number {
  const { min = 0, max = MAX_AMOUNT_CENTS } = options;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * Formats cents for people: 2500 EUR → "25.00 EUR", -5 EUR → "-0.05 EUR". Integer arithmetic, so it never
 * rounds. Anything that is not a whole number of cents is shown as it is ("NaN EUR"), never as a price.
 */
export function formatCents(amountCents: number, currency: string): string {
  if (!Number.isSafeInteger(amountCents)) return `${String(amountCents)} ${currency}`;
  const sign = amountCents < 0 ? "-" : "";
  const abs = Math.abs(amountCents);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")} ${currency}`;
}
