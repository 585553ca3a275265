import type { Serdes } from "@aws/durable-execution-sdk-js";
// zod/mini, not "zod": the same validation, tree-shaken to a few KB in the Lambda bundle (zod classic is not).
import * as z from "zod/mini";

/**
 * The checkout order: the durable execution's input, and the body of `POST /orders` and of a queue message.
 * The front door parses it with the same schema before it starts anything, and the workflow parses it again
 * (pure, outside any step), so an execution started some other way still fails before its first side effect.
 */
const Item = z.strictObject({
  sku: z.string().check(z.regex(/^[A-Z0-9-]{2,32}$/, "must be 2-32 capital letters, digits or dashes")),
  quantity: z
    .number()
    .check(
      z.int("must be a whole number"),
      z.gte(1, "must be at least 1"),
      z.lte(100, "must be at most 100"),
    ),
});

export const ORDER_ID = /^[A-Za-z0-9_-]{3,48}$/;
/**
 * The provider's ids (a payment's, a webhook event's) are opaque: any length from one character to 128, of letters,
 * digits, dots, dashes and underscores, starting with a letter or digit (`pay_1`, `pi_3Nf...`, `evt_1`, a UUID).
 * What the rule refuses is what is unsafe to carry into a checkpoint, a log line or an alert: control characters,
 * spaces, quotes, slashes, anything huge. Not what is merely short, or in another provider's format.
 */
export const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const PAYMENT_ID = PROVIDER_ID;
const PROVIDER_ID_RULE = "must be 1-128 letters, digits, dots, dashes or underscores";
/**
 * Control characters (newline, NUL), invisible format characters (the right-to-left override, zero-width
 * spaces) and line or paragraph separators: a customer id travels into logs, the order store and support
 * screens, where these forge lines or disguise one id as another.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export const CheckoutOrder = z.strictObject({
  orderId: z.string().check(z.regex(ORDER_ID, "must be 3-48 letters, digits, dashes or underscores")),
  customerId: z.string().check(
    z.minLength(1, "is required"),
    z.maxLength(64, "must be at most 64 characters"),
    z.regex(/\S/, "must not be blank"),
    z.refine((id) => !UNPRINTABLE.test(id), "must not contain control or invisible formatting characters"),
  ),
  items: z
    .array(Item)
    .check(z.minLength(1, "must have at least one item"), z.maxLength(20, "must have at most 20 items")),
  amountCents: z
    .number()
    .check(
      z.int("must be a whole number of cents"),
      z.positive("must be positive"),
      z.lte(1_000_000, "must be at most 1000000 (10,000.00)"),
    ),
  currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
});
export type CheckoutOrder = z.infer<typeof CheckoutOrder>;

/** Input that can never succeed. Thrown before any step, so nothing retries it and nothing has happened. */
export class InvalidCheckoutOrderError extends Error {
  override readonly name = "InvalidCheckoutOrderError";
  constructor(readonly problems: string[] = []) {
    super(`Invalid checkout order: ${problems.join("; ")}`);
  }
}

export function parseCheckoutOrder(event: unknown): CheckoutOrder {
  const parsed = CheckoutOrder.safeParse(event, { error: plainTypeErrors });
  if (parsed.success) return parsed.data;
  throw new InvalidCheckoutOrderError(describeIssues(parsed.error, "order"));
}

/**
 * The execution name of an order, whichever door it came through (HTTP or the queue). One name per business
 * key means the API and the queue can never start the same order twice, and a retried request finds the
 * execution it started.
 */
export const executionNameOf = (orderId: string) => `order-${orderId}`;

/**
 * A payment provider's webhook event (the body it signs). Final types settle the payment; `payment.processing`
 * is informational and may arrive before or after a final one. Other types the provider sends (refunds,
 * disputes, ...) are not this workflow's: see unhandledEventType.
 */
export const HANDLED_EVENT_TYPES = ["payment.processing", "payment.succeeded", "payment.failed"] as const;

export const PaymentEvent = z.strictObject({
  id: z.string().check(z.regex(PROVIDER_ID, PROVIDER_ID_RULE)),
  type: z.enum(HANDLED_EVENT_TYPES, "must be payment.processing, payment.succeeded or payment.failed"),
  data: z.strictObject({
    paymentId: z.string().check(z.regex(PAYMENT_ID, PROVIDER_ID_RULE)),
    merchantReference: z.string().check(z.regex(ORDER_ID, "must be an order id")),
    amountCents: z.number().check(z.int("must be a whole number of cents"), z.positive("must be positive")),
    currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
    failureReason: z.optional(z.string().check(z.maxLength(200, "must be at most 200 characters"))),
  }),
});
export type PaymentEvent = z.infer<typeof PaymentEvent>;

export type Checked<T> = { valid: true; value: T } | { valid: false; problems: string[] };

export function checkPaymentEvent(raw: string | undefined): Checked<PaymentEvent> {
  if (raw === undefined || raw.trim() === "") return { valid: false, problems: ["the event is empty"] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { valid: false, problems: ["the event is not JSON"] };
  }
  const parsed = PaymentEvent.safeParse(json, { error: plainTypeErrors });
  return parsed.success
    ? { valid: true, value: parsed.data }
    : { valid: false, problems: describeIssues(parsed.error, "event") };
}

/**
 * The type of a well-formed event this workflow does not handle (a refund, a dispute), or undefined. Such an
 * event is acknowledged, not refused: a provider retries every non-2xx answer for days and may disable the
 * endpoint. A type is a short dotted name; anything else is a malformed event.
 */
export function unhandledEventType(raw: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || !/^[a-z][a-z0-9_]*(\.[a-z0-9_]+){1,4}$/.test(type) || type.length > 64)
    return undefined;
  return (HANDLED_EVENT_TYPES as readonly string[]).includes(type) ? undefined : type;
}

/**
 * What the workflow receives from the payment callback: the webhook's event, checked. The deserializer never
 * throws: one that throws fails the invocation (SERDES_FAILED) on every replay, and the execution loops until it
 * times out. A malformed event comes back as a value, and the workflow treats it as "in doubt", never as paid.
 */
export const paymentEventSerdes: Omit<Serdes<Checked<PaymentEvent>>, "serialize"> = {
  deserialize: async (raw) => checkPaymentEvent(raw),
};

/** Say "is required" / "must be a string" rather than zod's "expected string, received undefined". */
export const plainTypeErrors = (issue: z.core.$ZodRawIssue) =>
  issue.code !== "invalid_type"
    ? undefined
    : issue.input === undefined
      ? "is required"
      : `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;

export function describeIssues(error: z.core.$ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const where = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("")
      .replace(/^\./, "");
    if (issue.code === "unrecognized_keys")
      return `${where || root} has unknown fields: ${issue.keys.join(", ")}`;
    return `${where || root} ${issue.message}`;
  });
}
