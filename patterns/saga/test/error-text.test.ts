import { ProviderRejectedError } from "../src";
import { MAX_ERROR_TEXT, safeError, safeText, withSafeErrors } from "../src/error-text";

// What of an error's text may be kept (src/error-text.ts): it goes into checkpoints (32 KB at most), alerts and
// logs, so it is bounded, on one line, and without credentials, whatever a provider threw.
describe("safeText", () => {
  it("bounds a long text and says how much was left out", () => {
    const text = safeText("E".repeat(1024 * 1024));
    expect(text).toBe(`${"E".repeat(MAX_ERROR_TEXT)}… (${1024 * 1024 - MAX_ERROR_TEXT} more characters)`);
  });

  it("turns control characters into spaces, so a message cannot forge a log line", () => {
    expect(safeText('sold out\n{"level":"INFO","message":"refund done"}\u001b[31m')).toBe(
      'sold out {"level":"INFO","message":"refund done"} [31m',
    );
  });

  it.each([
    ["a bearer token", "authorization: Bearer abc.def-123", "authorization: [redacted]"],
    ["a basic credential", "Basic dXNlcjpwYXNz was refused", "Basic [redacted] was refused"],
    ["an echoed authorization header", '{"authorization":"Token xyz"}', '{"authorization":"[redacted]"}'],
    ["an API key field", '{"api_key":"k-123","ok":1}', '{"api_key":"[redacted]","ok":1}'],
    ["a live secret key", "key sk_live_SUPERSECRET used", "key [redacted] used"],
  ])("redacts %s", (_label, text, safe) => {
    expect(safeText(text)).toBe(safe);
  });

  it("redacts a known secret by value, whatever its shape", () => {
    expect(safeText("echo: plain-token-7", 200, ["plain-token-7"])).toBe("echo: [redacted]");
  });
});

describe("safeError and withSafeErrors", () => {
  it("keeps the error's class (retry strategies filter on it) and makes its message safe", () => {
    const error = safeError(new ProviderRejectedError(`refused: Bearer t0k3n ${"x".repeat(5000)}`, 409));
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error.message).toContain("Bearer [redacted]");
    expect(error.message.length).toBeLessThan(2 * MAX_ERROR_TEXT);
  });

  it("makes an Error of anything thrown that is not one", () => {
    expect(safeError("a string\nthrown")).toEqual(new Error("a string thrown"));
  });

  it("wraps every function at any depth, read at call time", async () => {
    const deps = { hotels: { reserve: async () => ({ reservationId: "HT-1" }) } };
    const safe = withSafeErrors(deps);
    await expect(safe.hotels.reserve()).resolves.toEqual({ reservationId: "HT-1" });
    deps.hotels.reserve = async () => {
      throw new ProviderRejectedError(`sold out ${"E".repeat(100_000)}`, 409);
    };
    const error: unknown = await safe.hotels.reserve().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect((error as Error).message.length).toBeLessThan(2 * MAX_ERROR_TEXT);
  });
});
