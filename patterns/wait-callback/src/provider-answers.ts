import * as z from "zod/mini";
import { MalformedResponseError } from "./errors";
import { describeIssues, plainTypeErrors } from "./input";

/**
 * What the providers answer, checked where the workflow takes it (checked-deps.ts), whichever deps gave it: the
 * built-in HTTP client or yours. An answer that is not what the contract says is a MalformedResponseError,
 * never a value cast to the type we hoped for. Unknown fields are dropped (APIs add fields), but every field
 * we read is checked: a job that SHIPPED must say how it was tracked, and a reference or job id that goes into
 * a URL path and a checkpoint is a short, plain token.
 */
const ProviderKey = z.string().check(
  z.regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1-64 letters, digits, dots, colons, dashes or underscores"),
  // "." and ".." are path segments that move up: a job id of ".." would check `<supplier>/` instead.
  z.refine((key) => key !== "." && key !== "..", "must not be . or .."),
);
export const SubmitResponse = z.object({ reference: ProviderKey });
export const OrderResponse = z.object({ jobId: ProviderKey });
const Detail = z.optional(z.string().check(z.maxLength(500, "must be at most 500 characters")));
export const JobStatusResponse = z.discriminatedUnion("state", [
  z.object({ state: z.literal("QUEUED"), detail: Detail }),
  z.object({ state: z.literal("IN_PROGRESS"), detail: Detail }),
  z.object({ state: z.literal("SHIPPED"), trackingNumber: ProviderKey, detail: Detail }),
  z.object({ state: z.literal("FAILED"), detail: Detail }),
]);

/** The answer, checked; the error names the call and what was wrong, never the answer itself. */
export function checkedAnswer<T>(label: string, answer: unknown, schema: z.ZodMiniType<T>): T {
  const parsed = schema.safeParse(answer, { error: plainTypeErrors });
  if (!parsed.success) {
    throw new MalformedResponseError(
      `${label} answered with an unexpected body: ${describeIssues(parsed.error, "body").join("; ").slice(0, 300)}`,
    );
  }
  return parsed.data;
}
