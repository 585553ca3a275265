// zod/mini, not "zod": the same validation, tree-shaken to about 18 KB in the Lambda bundle instead of
// about 440 KB (the bench measured it; see BENCHMARKS.md).
import * as z from "zod/mini";

/**
 * The order event. Parsing is pure and deterministic, so it runs outside any step: on every replay it
 * gives the same answer, and bad input fails the execution before the first side effect.
 */
export const MAX_ITEMS_PER_ORDER = 50;

/** Longest free text we pass on to a provider: a name, an address line, a customer id. */
export const MAX_TEXT_LENGTH = 200;

// Blank is missing: a value of only spaces or invisible characters (zero-width spaces, other format characters)
// would reach the providers as a name or a key that means nothing.
const visible = (value: string) => value.replace(/[\s\p{Cf}]/gu, "") !== "";
// Control characters (NUL, CR, LF, ...) have no place in a name or an address: a carrier's label or a mail
// header could read them as structure.
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const required = z.string().check(
  z.minLength(1, "is required"),
  z.maxLength(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`),
  z.refine((value) => value.length === 0 || visible(value), "must not be blank"),
  z.refine((value) => !CONTROL.test(value), "must not contain control characters"),
);

const OrderItem = z.object({
  sku: z.string().check(z.regex(/^[A-Z0-9-]{3,32}$/, "must be 3-32 upper-case letters, digits or dashes")),
  quantity: z
    .number()
    .check(
      z.int("must be a whole number"),
      z.gte(1, "must be at least 1"),
      z.lte(100, "must be at most 100"),
    ),
  unitPriceCents: z
    .number()
    .check(
      z.int("must be a whole number of cents"),
      z.positive("must be positive"),
      z.lte(Number.MAX_SAFE_INTEGER, "must be at most Number.MAX_SAFE_INTEGER"),
    ),
});

export const OrderInput = z.object({
  // Starts with a letter or a digit: an id of only dashes would name nothing a person could look up.
  orderId: z
    .string()
    .check(
      z.regex(
        /^[A-Za-z0-9][A-Za-z0-9-]{2,63}$/,
        "must be 3-64 letters, digits or dashes, starting with a letter or a digit",
      ),
    ),
  customer: z.object({
    id: required,
    email: z.email("must be an email address").check(z.maxLength(254, "must be at most 254 characters")),
  }),
  items: z.array(OrderItem).check(
    z.minLength(1, "must contain at least one item"),
    z.maxLength(MAX_ITEMS_PER_ORDER, `must contain at most ${MAX_ITEMS_PER_ORDER} items`),
    // One line per SKU: the same SKU twice (at two prices) leaves the inventory and the charge to disagree.
    z.refine(
      (items) => new Set(items.map((item) => item.sku)).size === items.length,
      "must list each SKU once",
    ),
  ),
  currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
  shipTo: z.object({
    name: required,
    line1: required,
    city: required,
    postalCode: required,
    country: z.string().check(z.regex(/^[A-Z]{2}$/, "must be an ISO 3166 two-letter code")),
  }),
});

export type Order = z.infer<typeof OrderInput>;
export type OrderItem = z.infer<typeof OrderItem>;

/** Thrown for input that can never succeed. The handler throws it before any step, so nothing retries it. */
export class InvalidOrderError extends Error {
  override readonly name = "InvalidOrderError";
  constructor(readonly problems: string[]) {
    super(`Invalid order: ${problems.join("; ")}`);
  }
}

export function parseOrder(event: unknown): Order {
  const parsed = OrderInput.safeParse(event, {
    // Say "is required" / "must be a string" rather than zod's "expected string, received undefined".
    error: (issue) =>
      issue.code === "invalid_type"
        ? issue.input === undefined
          ? "is required"
          : `must be a ${issue.expected}`
        : undefined,
  });
  if (parsed.success) {
    // Each price is a safe integer, but their sum may not be: past 2^53 cents the total is no longer exact,
    // and a charge for an inexact amount must never be sent.
    if (!Number.isSafeInteger(orderTotalCents(parsed.data))) {
      throw new InvalidOrderError([`items total must be at most ${Number.MAX_SAFE_INTEGER} cents`]);
    }
    return parsed.data;
  }
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
  throw new InvalidOrderError(problems);
}

export function orderTotalCents(order: Order): number {
  return order.items.reduce((total, item) => total + item.quantity * item.unitPriceCents, 0);
}
