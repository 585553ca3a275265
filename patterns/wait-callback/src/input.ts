// zod/mini, not "zod": the same validation, tree-shaken to a few KB in the Lambda bundle (zod classic is not).
import * as z from "zod/mini";

/**
 * The purchase request event. Parsing is pure and deterministic, so it runs outside any step: every replay
 * gives the same answer, and bad input fails the execution before the first side effect.
 *
 * Every string is bounded (a 100 KB description is refused here, not truncated later) and must hold more than
 * spaces. The text the requester writes still goes into the approver's chat message only escaped (chat-text.ts).
 */
const text = (max: number) =>
  z.string().check(
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((value) => value.trim() !== "", "is required"),
  );

/** A person's id in the company directory; approvers' answers carry one in `decidedBy`. */
export const PersonId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9._-]{2,64}$/, "must be 2-64 letters, digits, dots, dashes or underscores"));

const Person = z.object({ id: PersonId, name: text(100) });

/** The largest request, in minor units (cents: all three currencies have two decimals): 100,000.00. */
export const MAX_AMOUNT_MINOR_UNITS = 10_000_000;

/** Ids compared without case: "U-ADA" as her own manager is still Ada. */
const samePerson = (a: { id: string }, b: { id: string }) => a.id.toLowerCase() === b.id.toLowerCase();

export const PurchaseRequestInput = z
  .object({
    requestId: z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes")),
    requester: z.extend(Person, {
      email: z
        .string()
        .check(z.maxLength(254, "must be at most 254 characters"), z.email("must be an email address")),
    }),
    item: z.object({
      description: text(200),
      supplier: text(100),
      quantity: z
        .number()
        .check(
          z.int("must be a whole number"),
          z.gte(1, "must be at least 1"),
          z.lte(1000, "must be at most 1000"),
        ),
    }),
    // An integer number of minor units within a stated maximum: every sum and comparison is exact.
    amountCents: z
      .number()
      .check(
        z.int("must be a whole number of cents"),
        z.positive("must be positive"),
        z.lte(MAX_AMOUNT_MINOR_UNITS, `must be at most ${MAX_AMOUNT_MINOR_UNITS} (100,000.00)`),
      ),
    currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
    approvers: z.object({ manager: Person, director: Person }),
  })
  .check(
    // Three different people: nobody approves their own request, and the escalation goes to someone new.
    z.refine((request) => !samePerson(request.approvers.manager, request.requester), {
      message: "the manager must be someone other than the requester",
      path: ["approvers", "manager", "id"],
    }),
    z.refine((request) => !samePerson(request.approvers.director, request.requester), {
      message: "the director must be someone other than the requester",
      path: ["approvers", "director", "id"],
    }),
    z.refine((request) => !samePerson(request.approvers.director, request.approvers.manager), {
      message: "the director must be someone other than the manager",
      path: ["approvers", "director", "id"],
    }),
  );

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

/** Say "is required" / "must be a string" rather than zod's "expected string, received undefined". */
export const plainTypeErrors = (issue: z.core.$ZodRawIssue) =>
  issue.code !== "invalid_type"
    ? undefined
    : issue.input === undefined
      ? "is required"
      : `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;

export function describeIssues(error: z.core.$ZodError, root: string): string[] {
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
