import type { Serdes } from "@aws/durable-execution-sdk-js";
// zod/mini, not "zod": the same validation, tree-shaken to a few KB in the Lambda bundle (zod classic is not).
import * as z from "zod/mini";

/**
 * The purchase request event. Parsing is pure and deterministic, so it runs outside any step: every replay
 * gives the same answer, and bad input fails the execution before the first side effect.
 */
const required = z.string().check(z.minLength(1, "is required"));

const Person = z.object({
  id: z
    .string()
    .check(z.regex(/^[A-Za-z0-9._-]{2,64}$/, "must be 2-64 letters, digits, dots, dashes or underscores")),
  name: z.string().check(z.minLength(1, "is required"), z.maxLength(100, "must be at most 100 characters")),
});

export const PurchaseRequestInput = z.object({
  requestId: z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes")),
  requester: z.extend(Person, { email: z.email("must be an email address") }),
  item: z.object({
    description: z
      .string()
      .check(z.minLength(1, "is required"), z.maxLength(200, "must be at most 200 characters")),
    supplier: required,
    quantity: z
      .number()
      .check(
        z.int("must be a whole number"),
        z.gte(1, "must be at least 1"),
        z.lte(1000, "must be at most 1000"),
      ),
  }),
  amountCents: z
    .number()
    .check(
      z.int("must be a whole number of cents"),
      z.positive("must be positive"),
      z.lte(10_000_000, "must be at most 10000000 (100,000.00)"),
    ),
  currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
  approvers: z.object({ manager: Person, director: Person }).check(
    z.refine((approvers) => approvers.manager.id !== approvers.director.id, {
      message: "the director must be someone other than the manager",
      path: ["director", "id"],
    }),
  ),
});

export type PurchaseRequest = z.infer<typeof PurchaseRequestInput>;
export type Person = z.infer<typeof Person>;

/** Thrown for input that can never succeed. The handler throws it before any step, so nothing retries it. */
export class InvalidPurchaseRequestError extends Error {
  override readonly name = "InvalidPurchaseRequestError";
  constructor(readonly problems: string[] = []) {
    super(`Invalid purchase request: ${problems.join("; ")}`);
  }
}

export function parsePurchaseRequest(event: unknown): PurchaseRequest {
  const parsed = PurchaseRequestInput.safeParse(event, { error: plainTypeErrors });
  if (parsed.success) return parsed.data;
  throw new InvalidPurchaseRequestError(describeIssues(parsed.error, "event"));
}

/**
 * What an approver sends back through SendDurableExecutionCallbackSuccess (the `Result` bytes), as JSON:
 * `{"decision":"approve","decidedBy":"u-dana","comment":"Within budget"}`.
 */
export const ApprovalAnswer = z.strictObject({
  decision: z.enum(["approve", "reject"], "must be approve or reject"),
  decidedBy: z
    .string()
    .check(z.minLength(1, "is required"), z.maxLength(64, "must be at most 64 characters")),
  comment: z.optional(z.string().check(z.maxLength(500, "must be at most 500 characters"))),
});
export type ApprovalAnswer = z.infer<typeof ApprovalAnswer>;

/** The checked answer: either a valid answer or the list of what was wrong with it. */
export type CheckedAnswer = { valid: true; answer: ApprovalAnswer } | { valid: false; problems: string[] };

/**
 * Parses and validates a callback result. It never throws: a deserializer that throws makes the SDK fail the
 * invocation (SERDES_FAILED), Lambda retries the invocation, the same bytes fail again, and the execution
 * loops until it times out. A malformed answer is a fact about the outside world, so it comes back as a value
 * that the workflow handles like any other answer.
 */
export function checkApprovalAnswer(raw: string | undefined): CheckedAnswer {
  if (raw === undefined || raw.trim() === "") return { valid: false, problems: ["the answer is empty"] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { valid: false, problems: ["the answer is not JSON"] };
  }
  const parsed = ApprovalAnswer.safeParse(json, { error: plainTypeErrors });
  return parsed.success
    ? { valid: true, answer: parsed.data }
    : { valid: false, problems: describeIssues(parsed.error, "answer") };
}

/**
 * Callback results arrive as raw strings. This serdes hands the workflow a CheckedAnswer instead; it runs on
 * every replay too, which is fine because it is pure.
 */
export const approvalAnswerSerdes: Omit<Serdes<CheckedAnswer>, "serialize"> = {
  deserialize: async (raw) => checkApprovalAnswer(raw),
};

/** Say "is required" / "must be a string" rather than zod's "expected string, received undefined". */
const plainTypeErrors = (issue: z.core.$ZodRawIssue) =>
  issue.code !== "invalid_type"
    ? undefined
    : issue.input === undefined
      ? "is required"
      : `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;

function describeIssues(error: z.core.$ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    const where = path.replace(/^\./, "");
    if (issue.code === "unrecognized_keys")
      return `${where || root} has unknown fields: ${issue.keys.join(", ")}`;
    return `${where || root} ${issue.message}`;
  });
}
