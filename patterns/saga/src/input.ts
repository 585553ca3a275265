// zod/mini, not "zod": the same validation with functional checks, which the bundler can tree-shake. The
// classic `import { z } from "zod"` pulls about 440 KB into the Lambda bundle whatever the schema uses.
import * as z from "zod/mini";
import { ProviderRejectedError } from "./call-outcome";

/**
 * The trip request. Parsing is pure and deterministic, so it runs outside any step: every replay gets the
 * same answer, and bad input fails the execution before anything is reserved.
 */
/**
 * A required text field: not empty, not only spaces, and not longer than any real id (a 100 KB string would be
 * copied into every checkpoint and every provider call). Refused here, before any side effect.
 */
export const required = z.string().check(
  z.refine((value) => value.trim() !== "", { message: "is required", abort: true }),
  z.maxLength(256, "must be at most 256 characters"),
);
/**
 * The most one booking may charge, in the currency's minor units: 100,000.00 USD, EUR or GBP. A trip above it is
 * not a card payment this saga makes unattended (and 1e15 cents is a typo or an attack, not a trip).
 */
export const MAX_AMOUNT_CENTS = 10_000_000;

/** Money in whole cents, positive, and at most MAX_AMOUNT_CENTS (far below where a number stops being exact). */
export const Amount = z.number().check(
  z.refine((value) => Number.isInteger(value), { message: "must be a whole number of cents", abort: true }),
  z.refine((value) => value <= MAX_AMOUNT_CENTS, {
    message: `must be at most ${MAX_AMOUNT_CENTS} cents`,
    abort: true,
  }),
  z.positive("must be positive"),
);
const IsoDate = z.iso.date({ error: unlessMissing("must be a date (YYYY-MM-DD)") });
const Airport = z.string().check(z.regex(/^[A-Z]{3}$/, "must be a three-letter IATA airport code"));
export const Currency = z.enum(["USD", "EUR", "GBP"], {
  error: unlessMissing("must be one of USD, EUR, GBP"),
});

const Flight = z.object({ from: Airport, to: Airport, departOn: IsoDate, returnOn: IsoDate }).check(
  // Rules across fields run only once the fields they compare are valid, so a bad date reports one problem.
  z.refine((flight) => flight.from !== flight.to, {
    path: ["to"],
    message: "must differ from flight.from",
    when: fieldsValid("from", "to"),
  }),
  z.refine((flight) => flight.returnOn > flight.departOn, {
    path: ["returnOn"],
    message: "must be after flight.departOn",
    when: fieldsValid("departOn", "returnOn"),
  }),
);

export const TripRequestInput = z.object({
  bookingId: z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes")),
  traveller: z.object({
    customerId: required,
    email: z
      .email({ error: unlessMissing("must be an email address") })
      .check(z.maxLength(254, "must be at most 254 characters")),
    party: z
      .number()
      .check(z.int("must be a whole number"), z.gte(1, "must be at least 1"), z.lte(9, "must be at most 9")),
  }),
  flight: Flight,
  hotel: z.object({ hotelId: required }),
  car: z.object({
    category: z.enum(["compact", "midsize", "suv"], {
      error: unlessMissing("must be one of compact, midsize, suv"),
    }),
  }),
  price: z.object({
    amountCents: Amount,
    currency: Currency,
  }),
});

export type TripRequest = z.infer<typeof TripRequestInput>;

/** Thrown for input that can never succeed. The handler throws it before any step, so nothing retries it. */
export class InvalidTripRequestError extends Error {
  override readonly name = "InvalidTripRequestError";
  constructor(readonly problems: string[]) {
    super(`Invalid trip request: ${problems.join("; ")}`);
  }
}

export function parseTripRequest(event: unknown): TripRequest {
  const parsed = TripRequestInput.safeParse(event, { error: plainTypeErrors });
  if (parsed.success) return parsed.data;
  throw new InvalidTripRequestError(describeIssues(parsed.error));
}

/**
 * The per-parse error map: "is required" / "must be a string" rather than zod's
 * "Invalid input: expected string, received undefined". Messages set on a schema or check win over it.
 */
export const plainTypeErrors: z.core.$ZodErrorMap = (issue) => {
  if (issue.input === undefined) return "is required";
  if (issue.code === "invalid_type") {
    return `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
  }
  return undefined;
};

/** A schema's own message for a value that is there but wrong; a missing one falls through to "is required". */
function unlessMissing(message: string): z.core.$ZodErrorMap {
  return (issue) => (issue.input === undefined ? undefined : message);
}

/**
 * For a cross-field check: run it only if the fields it compares parsed. A check with `when` runs even after
 * its object failed, so an issue without a field ("must be an object") stops it too.
 */
function fieldsValid(...fields: string[]) {
  return (payload: z.core.ParsePayload) =>
    payload.issues.every((issue) => {
      const field = issue.path?.[0];
      return field !== undefined && !fields.includes(String(field));
    });
}

export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
}

/**
 * A departure before yesterday (UTC, so a departure "today" anywhere on Earth passes) is refused. It needs the
 * clock, which differs between replays, so this is not part of the parse: the workflow calls it inside the
 * `reserve-flight` step, before the airline is called, and the refusal is checkpointed with the step.
 */
export function refusePastDeparture(flight: { departOn: string }, now: number): void {
  const yesterday = new Date(now - 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
  if (flight.departOn < yesterday) {
    throw new ProviderRejectedError(
      `flight.departOn ${flight.departOn} is in the past: refused before calling the airline`,
    );
  }
}
