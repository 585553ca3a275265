import {
  AnswerRejectedError,
  classifyRead,
  classifySend,
  ConfigurationError,
  deliveryFailure,
  deliveryOutcomeOf,
  IssuedWithOtherContentError,
  ProviderHttpError,
  ProviderUnreachableError,
  worthAnotherPass,
  type Outcome,
} from "../src";
import { deliveryRetry, readRetry, unsentInvoices } from "../src/call-outcomes";

// The classification of this pattern's calls, row by row: what each fact means for a send (POST invoices)
// and for a read (the GET lookups and quotes). The README's table is this one.

describe("a send (POST invoices): done, not done or in doubt", () => {
  it.each<[string, unknown, Outcome, boolean, string]>([
    ["307 (a redirect, not followed)", new ProviderHttpError(307), "not-done", false, "[refused]"],
    ["400", new ProviderHttpError(400), "not-done", false, "[refused]"],
    ["401", new ProviderHttpError(401), "not-done", false, "[refused]"],
    ["403", new ProviderHttpError(403), "not-done", false, "[refused]"],
    ["404", new ProviderHttpError(404), "not-done", false, "[refused]"],
    ["409 (same key in progress)", new ProviderHttpError(409), "in-doubt", false, "[in doubt]"],
    ["413", new ProviderHttpError(413), "not-done", false, "[refused]"],
    ["422", new ProviderHttpError(422), "not-done", false, "[refused]"],
    ["418 (any other 4xx)", new ProviderHttpError(418), "not-done", false, "[refused]"],
    [
      "429 (refused before processing, by contract)",
      new ProviderHttpError(429),
      "not-done",
      true,
      "[not sent]",
    ],
    ["500", new ProviderHttpError(500), "in-doubt", false, "[in doubt]"],
    ["502", new ProviderHttpError(502), "in-doubt", false, "[in doubt]"],
    [
      "503 (refused before processing, by contract)",
      new ProviderHttpError(503),
      "not-done",
      true,
      "[not sent]",
    ],
    ["504", new ProviderHttpError(504), "in-doubt", false, "[in doubt]"],
    ["599 (any other 5xx)", new ProviderHttpError(599), "in-doubt", false, "[in doubt]"],
    ["no connection (refused, DNS)", new ProviderUnreachableError("connect"), "not-done", true, "[not sent]"],
    ["a timeout", new ProviderUnreachableError("timeout"), "in-doubt", false, "[in doubt]"],
    ["a reset connection", new ProviderUnreachableError("reset"), "in-doubt", false, "[in doubt]"],
    ["a 2xx we cannot read", new AnswerRejectedError("not JSON"), "in-doubt", false, "[in doubt]"],
    [
      "the receipt of an earlier send under the key, for other content",
      new IssuedWithOtherContentError("amountCents 1001, not 999999"),
      "issued-before",
      false,
      "[issued before]",
    ],
    ["not configured", new ConfigurationError("no URL"), "not-done", false, "[refused]"],
    ["an unexpected error", new TypeError("x is undefined"), "in-doubt", false, "[in doubt]"],
    ["a thrown string", "boom", "in-doubt", false, "[in doubt]"],
  ])("%s", (_label, error, outcome, retry, marker) => {
    const verdict = classifySend(error);
    expect(verdict).toMatchObject({ outcome, retry });
    expect(verdict.reason.length).toBeGreaterThan(10);

    // The verdict rides in the message, the only part of an error a checkpoint keeps, and reads back.
    const failure = deliveryFailure(error);
    expect(failure.message.startsWith(`${marker} `)).toBe(true);
    expect(deliveryOutcomeOf(failure.message)).toBe(outcome);
    expect(worthAnotherPass(failure.message)).toBe(marker !== "[refused]" && marker !== "[issued before]");
    // Retried within the step only when nothing was done; never past the attempts.
    expect(deliveryRetry(3, { seconds: 1 })(failure, 1).shouldRetry).toBe(retry);
    expect(deliveryRetry(3, { seconds: 1 })(failure, 3).shouldRetry).toBe(false);
  });

  it("a message without a marker (rendering or storing failed) means nothing was sent, and is worth a pass", () => {
    expect(deliveryOutcomeOf("S3 is unavailable")).toBe("not-done");
    expect(worthAnotherPass("S3 is unavailable")).toBe(true);
  });

  it("bounds a provider's error text in the message", () => {
    const failure = deliveryFailure(new ProviderHttpError(500, "x".repeat(100_000)));
    expect(failure.message.length).toBeLessThan(500);
  });
});

describe("a read (GET): never done, so only whether to ask again", () => {
  it.each<[string, unknown, boolean]>([
    ["429", new ProviderHttpError(429), true],
    ["500", new ProviderHttpError(500), true],
    ["503", new ProviderHttpError(503), true],
    ["504", new ProviderHttpError(504), true],
    ["301 (a redirect, not followed)", new ProviderHttpError(301), false],
    ["400", new ProviderHttpError(400), false],
    ["404", new ProviderHttpError(404), false],
    ["a timeout", new ProviderUnreachableError("timeout"), true],
    ["a reset connection", new ProviderUnreachableError("reset"), true],
    ["no connection", new ProviderUnreachableError("connect"), true],
    ["an answer we cannot accept", new AnswerRejectedError("rate must be positive"), false],
    ["not configured", new ConfigurationError("no URL"), false],
    ["an unexpected error", new TypeError("x is undefined"), false],
  ])("%s", (_label, error, retry) => {
    expect(classifyRead(error)).toMatchObject({ outcome: "not-done", retry });
    expect(readRetry()(error as Error, 1).shouldRetry).toBe(retry);
    expect(readRetry()(error as Error, 3).shouldRetry).toBe(false);
  });
});

describe("the invoices not confirmed sent, over both passes", () => {
  it("one in-doubt failure makes the invoice in doubt, whatever a later pass said; then issued before; otherwise failed", () => {
    expect(
      unsentInvoices([
        { invoiceId: "INV-1", error: "[in doubt] timed out" },
        { invoiceId: "INV-2", error: "[not sent] 503" },
        { invoiceId: "INV-1", error: "[not sent] 503" },
        { invoiceId: "INV-2", error: "[refused] 422" },
        { invoiceId: "INV-3", error: "[not sent] 503" },
        { invoiceId: "INV-3", error: "[in doubt] 500" },
        { invoiceId: "INV-4", error: "[issued before] the receipt of an earlier send" },
        { invoiceId: "INV-5", error: "[issued before] the receipt of an earlier send" },
        { invoiceId: "INV-5", error: "[in doubt] still in flight" },
      ]),
    ).toEqual({
      failed: [{ invoiceId: "INV-2", error: "[refused] 422" }],
      inDoubt: [
        { invoiceId: "INV-1", error: "[in doubt] timed out" },
        { invoiceId: "INV-3", error: "[in doubt] 500" },
        { invoiceId: "INV-5", error: "[in doubt] still in flight" },
      ],
      issuedBefore: [{ invoiceId: "INV-4", error: "[issued before] the receipt of an earlier send" }],
    });
  });
});
