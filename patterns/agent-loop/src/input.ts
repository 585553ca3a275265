import { z } from "zod";

/**
 * The support request. Parsing is pure, so it runs outside any step: bad input fails the execution at
 * once, before the first (paid) model call, and is never retried.
 */
export const MAX_QUESTION_CHARS = 4000;

export const SupportRequestInput = z.object({
  /** Who is asking, from your authenticated session, never from the model: tools only see this customer's orders. */
  customerId: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes"),
  question: z
    .string("must be a string")
    .trim()
    .min(1, "must not be empty")
    .max(MAX_QUESTION_CHARS, `must be at most ${MAX_QUESTION_CHARS} characters`),
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
  const parsed = SupportRequestInput.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new InvalidSupportRequestError(describeIssues(parsed.error));
}

/** "question must not be empty", "orderId must look like order-1042": one line per problem. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "input"} ${issue.message}`;
  });
}
