import { InvalidTripRequestError, parseTripRequest } from "../src";
import { sampleTrip } from "../src/demo";
import { describeIssues, plainTypeErrors } from "../src/input";
import { PaymentRequestInput } from "../src/payment";

/** Parsing is pure: these cases run without the durable runner (saga.test.ts covers the handler path). */
function problemsOf(event: unknown): string[] {
  try {
    parseTripRequest(event);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTripRequestError);
    return (error as InvalidTripRequestError).problems;
  }
  throw new Error("expected the trip request to be rejected");
}

describe("trip request messages (zod/mini, no locale loaded)", () => {
  it("accepts the sample trip as is", () => {
    expect(parseTripRequest(sampleTrip)).toEqual(sampleTrip);
  });

  it.each<[string, unknown, string[]]>([
    ["not an object", "trip-2041", ["event must be an object"]],
    ["null", null, ["event must be an object"]],
    ["a bookingId of the wrong type", { ...sampleTrip, bookingId: 42 }, ["bookingId must be a string"]],
    [
      "a traveller that is not an object",
      { ...sampleTrip, traveller: "grace" },
      ["traveller must be an object"],
    ],
    [
      "an empty traveller",
      { ...sampleTrip, traveller: {} },
      ["traveller.customerId is required", "traveller.email is required", "traveller.party is required"],
    ],
    [
      "a party given as a string",
      { ...sampleTrip, traveller: { ...sampleTrip.traveller, party: "2" } },
      ["traveller.party must be a number"],
    ],
    [
      "a party of ten",
      { ...sampleTrip, traveller: { ...sampleTrip.traveller, party: 10 } },
      ["traveller.party must be at most 9"],
    ],
    [
      "an empty flight",
      { ...sampleTrip, flight: {} },
      [
        "flight.from is required",
        "flight.to is required",
        "flight.departOn is required",
        "flight.returnOn is required",
      ],
    ],
    // A bad date is one problem, not also "must be after": the cross-field rule waits for valid dates.
    [
      "an unreadable date",
      { ...sampleTrip, flight: { ...sampleTrip.flight, departOn: "3 May" } },
      ["flight.departOn must be a date (YYYY-MM-DD)"],
    ],
    [
      "a date that does not exist",
      { ...sampleTrip, flight: { ...sampleTrip.flight, departOn: "2027-02-30" } },
      ["flight.departOn must be a date (YYYY-MM-DD)"],
    ],
    [
      "the same airport twice",
      { ...sampleTrip, flight: { ...sampleTrip.flight, to: sampleTrip.flight.from } },
      ["flight.to must differ from flight.from"],
    ],
    ["a missing car category", { ...sampleTrip, car: {} }, ["car.category is required"]],
    [
      "an unknown currency and a negative price",
      { ...sampleTrip, price: { amountCents: -1, currency: "JPY" } },
      ["price.amountCents must be positive", "price.currency must be one of USD, EUR, GBP"],
    ],
  ])("rejects %s", (_label, event, problems) => {
    expect(problemsOf(event)).toEqual(problems);
  });

  it("reports a cross-field problem alongside problems elsewhere", () => {
    expect(
      problemsOf({
        ...sampleTrip,
        traveller: { ...sampleTrip.traveller, party: 0 },
        flight: { ...sampleTrip.flight, returnOn: "2027-05-01" },
      }),
    ).toEqual(["traveller.party must be at least 1", "flight.returnOn must be after flight.departOn"]);
  });
});

describe("payment request messages", () => {
  it.each<[string, object, string[]]>([
    ["an idempotency key of only spaces", { idempotencyKey: "   " }, ["idempotencyKey is required"]],
    [
      "a customer id of 100 KB",
      { customerId: "c".repeat(100_000) },
      ["customerId must be at most 256 characters"],
    ],
    [
      "an amount past the maximum (and past Number.MAX_SAFE_INTEGER)",
      { amountCents: 2 ** 60 },
      ["amountCents must be at most 10000000 cents"],
    ],
  ])("refuses %s before any charge", (_label, change, problems) => {
    const valid = {
      bookingId: "trip-2041",
      customerId: "cust-88",
      amountCents: 248_000,
      currency: "GBP",
      idempotencyKey: "trip-2041:e:charge-payment",
    };
    const parsed = PaymentRequestInput.safeParse({ ...valid, ...change }, { error: plainTypeErrors });
    if (parsed.success) throw new Error("expected the payment request to be rejected");
    expect(describeIssues(parsed.error)).toEqual(problems);
  });

  it("says what is missing and what has the wrong type", () => {
    const parsed = PaymentRequestInput.safeParse(
      { bookingId: 7, amountCents: "5", currency: "JPY" },
      { error: plainTypeErrors },
    );
    if (parsed.success) throw new Error("expected the payment request to be rejected");
    expect(describeIssues(parsed.error)).toEqual([
      "bookingId must be a string",
      "customerId is required",
      "amountCents must be a number",
      "currency must be one of USD, EUR, GBP",
      "idempotencyKey is required",
    ]);
  });
});
