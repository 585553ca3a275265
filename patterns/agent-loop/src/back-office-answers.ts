import * as z from "zod/mini";
import { defaultMessages, describeIssues, OrderId } from "./input";
import { cents, Currency, MAX_PRIOR_REFUNDS } from "./money";

/**
 * What the real back office's answers must look like. Each body is parsed with a schema at the
 * boundary, never `JSON.parse(text) as T`: an order whose total is a string, a policy without a
 * maximum, or a refund list with a float would otherwise flow into the refund guard's sums.
 *
 * Unknown fields are dropped (a newer back office may add some), except where one could change what
 * the guard decides: a policy answer is strict, so a field the guard does not know (a "partial"
 * flag, a second maximum) is refused rather than ignored.
 */
export const OrderAnswer = z.object({
  orderId: OrderId,
  customerId: z.string().check(z.minLength(1, "must not be empty")),
  status: z.enum(["processing", "shipped", "delivered", "cancelled"], "must be a known order status"),
  placedOn: z.string().check(z.maxLength(40, "must be at most 40 characters")),
  items: z
    .array(
      z.object({
        sku: z.string().check(z.maxLength(64, "must be at most 64 characters")),
        name: z.string().check(z.maxLength(200, "must be at most 200 characters")),
        quantity: z
          .number()
          .check(
            z.int("must be a whole number"),
            z.positive("must be positive"),
            z.lte(1000, "must be at most 1000"),
          ),
        unitPriceCents: cents(),
      }),
    )
    .check(z.maxLength(200, "must list at most 200 items")),
  totalCents: cents(),
  currency: Currency,
});

export const PolicyAnswer = z.strictObject({
  eligible: z.boolean(),
  maxRefundCents: cents(),
  explanation: z
    .string()
    .check(z.minLength(1, "must not be empty"), z.maxLength(500, "must be at most 500 characters")),
});

const PriorRefund = z.object({
  refundId: z
    .string()
    .check(z.minLength(1, "must not be empty"), z.maxLength(100, "must be at most 100 characters")),
  amountCents: cents({ min: 1 }),
  currency: Currency,
  idempotencyKey: z.optional(z.string().check(z.maxLength(200, "must be at most 200 characters"))),
});

export const PriorRefundsAnswer = z.object({
  refunds: z
    .array(PriorRefund)
    .check(z.maxLength(MAX_PRIOR_REFUNDS, `must list at most ${MAX_PRIOR_REFUNDS} refunds`)),
});

export const RefundReceiptAnswer = z.object({
  refundId: z
    .string()
    .check(z.minLength(1, "must not be empty"), z.maxLength(100, "must be at most 100 characters")),
});

/** The back office answered, but not in a form we can use. Not retried: the same call gets the same answer. */
export class UnreadableAnswerError extends Error {
  override readonly name = "UnreadableAnswerError";
}

/** Checks one parsed response body; the error names the call and each problem, never echoes the body. */
export function checkAnswer<T>(schema: z.ZodMiniType<T>, body: unknown, what: string): T {
  // An empty body is no JSON document at all.
  if (body === undefined) throw new UnreadableAnswerError(`${what} answered something that is not JSON`);
  const parsed = schema.safeParse(body, { error: defaultMessages });
  if (!parsed.success) {
    throw new UnreadableAnswerError(
      `${what} answered in an unexpected shape: ${describeIssues(parsed.error).join("; ")}`,
    );
  }
  return parsed.data;
}
