import { z } from "zod";

/**
 * The trip request. Parsing is pure and deterministic, so it runs outside any step: every replay gets the
 * same answer, and bad input fails the execution before anything is reserved.
 */
const IsoDate = z.iso.date("must be a date (YYYY-MM-DD)");
const Airport = z.string().regex(/^[A-Z]{3}$/, "must be a three-letter IATA airport code");

export const TripRequestInput = z
  .object({
    bookingId: z
      .string("is required")
      .regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes"),
    traveller: z.object(
      {
        customerId: z.string().min(1, "is required"),
        email: z.email("must be an email address"),
        party: z
          .number()
          .int("must be a whole number")
          .min(1, "must be at least 1")
          .max(9, "must be at most 9"),
      },
      "is required",
    ),
    flight: z.object({ from: Airport, to: Airport, departOn: IsoDate, returnOn: IsoDate }, "is required"),
    hotel: z.object({ hotelId: z.string().min(1, "is required") }, "is required"),
    car: z.object(
      { category: z.enum(["compact", "midsize", "suv"], "must be one of compact, midsize, suv") },
      "is required",
    ),
    price: z.object(
      {
        amountCents: z.number().int("must be a whole number of cents").positive("must be positive"),
        currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
      },
      "is required",
    ),
  })
  .refine((trip) => trip.flight.returnOn > trip.flight.departOn, {
    path: ["flight", "returnOn"],
    message: "must be after flight.departOn",
  })
  .refine((trip) => trip.flight.from !== trip.flight.to, {
    path: ["flight", "to"],
    message: "must differ from flight.from",
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
  const parsed = TripRequestInput.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new InvalidTripRequestError(describeIssues(parsed.error));
}

export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
}
