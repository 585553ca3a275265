// zod/mini, not "zod": the same validation, tree-shaken. zod classic is not, and it alone made the
// Lambda bundle about 440 KB heavier.
import * as z from "zod/mini";

/**
 * The support request. Parsing is pure, so it runs outside any step: bad input fails the execution at
 * once, before the first (paid) model call, and is never retried.
 */
export const MAX_QUESTION_CHARS = 4000;

/** An order id, as the shop writes them. The same schema checks the input and the model's tool arguments. */
export const OrderId = z.string().check(z.regex(/^order-\d{1,10}$/, 'must look like "order-1042"'));

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const SupportRequestInput = z.object({
  /** Who is asking, from your authenticated session, never from the model: tools only see this customer's orders. */
  customerId: z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes")),
  /**
   * The order the conversation is about, from the support form the customer opened on that order (your
   * session, not the model). It is the only order this execution may refund, whatever the model names.
   */
  orderId: OrderId,
  question: z.string("must be a string").check(
    // A lone surrogate (half an emoji, cut by a client) is not valid UTF-16: the model's API may refuse
    // the whole request with an error that is not retried. It becomes U+FFFD, as a UTF-8 decoder would.
    z.overwrite((text) => text.replace(LONE_SURROGATE, "\uFFFD")),
    z.trim(),
    z.minLength(1, "must not be empty"),
    z.maxLength(MAX_QUESTION_CHARS, `must be at most ${MAX_QUESTION_CHARS} characters`),
  ),
});

export type SupportRequest = z.infer<typeof SupportRequestInput>;

/** Thrown for a request that can never succeed. Thrown before any step, so nothing retries it. */
export class InvalidSupportRequestError extends Error {
  override readonly name = "InvalidSupportRequestError";
  constructor(readonly problems: string[]) {
    super(`Invalid support request: ${problems.join("; ")}`);
  }
}

export function parseSupportRequest(event: unknown): SupportRequest {
  const parsed = SupportRequestInput.safeParse(event, { error: defaultMessages });
  if (parsed.success) return parsed.data;
  throw new InvalidSupportRequestError(describeIssues(parsed.error));
}

/**
 * Messages for the problems a schema does not word itself. zod/mini ships no locale (its default
 * message is "Invalid input"), so a parse passes this map: "is required", "must be a number".
 */
export const defaultMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if (issue.expected === "number" && typeof issue.input === "number") return "must be a finite number";
      return `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
    case "unrecognized_keys":
      return `Unrecognized key${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
    default:
      return undefined;
  }
};

/** "question must not be empty", "orderId must look like order-1042": one line per problem. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "input"} ${issue.message}`;
  });
}
