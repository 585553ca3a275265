import { agreeOnRate, convert, MAX_FX_RATE, MAX_INVOICE_AMOUNT_CENTS, MAX_INVOICES_PER_BATCH } from "../src";

const q = (provider: string, rate: number) => ({ provider, rateMicros: Math.round(rate * 1_000_000) });

describe("which quotes count, and the rate", () => {
  it("two quotes that agree: their mean, in millionths, rounded half up", () => {
    expect(agreeOnRate([q("atlas", 1.149), q("beacon", 1.151)], [])).toMatchObject({
      outcome: "AGREED",
      rate: 1.15,
      rateMicros: 1_150_000,
    });
    expect(agreeOnRate([q("atlas", 1.150001), q("beacon", 1.150002)], [])).toMatchObject({
      rateMicros: 1_150_002, // 1150001.5 rounds up
    });
  });

  it("two quotes more than about 1% apart: no rate, both discarded (two cannot tell which is wrong)", () => {
    const decision = agreeOnRate([q("atlas", 11.49), q("beacon", 1.151)], []);
    expect(decision).toMatchObject({ outcome: "NO_RATE", quotes: [] });
    expect(decision.discarded.map((d) => d.provider)).toEqual(["atlas", "beacon"]);
    expect(decision.outcome === "NO_RATE" && decision.reason).toContain("the quotes disagree");
  });

  it("three quotes with one outlier: the outlier is discarded, the other two give the rate", () => {
    const decision = agreeOnRate([q("atlas", 1.149), q("beacon", 1.151), q("cedar", 1.5)], []);
    expect(decision).toMatchObject({ outcome: "AGREED", rateMicros: 1_150_000 });
    expect(decision.discarded).toEqual([
      { provider: "cedar", reason: "1.5 is more than 0.5% from the median 1.151" },
    ]);
  });

  it("fewer than two valid quotes: no rate, and the discarded ones say why", () => {
    const discarded = [{ provider: "atlas", reason: "rate must be at least 0.0001" }];
    expect(agreeOnRate([q("beacon", 1.151)], discarded)).toEqual({
      outcome: "NO_RATE",
      reason: "1 valid quote(s), 2 needed",
      quotes: [q("beacon", 1.151)],
      discarded,
    });
    expect(agreeOnRate([], [])).toMatchObject({ outcome: "NO_RATE", reason: "0 valid quote(s), 2 needed" });
  });
});

describe("conversion: exact integers, rounded half up to the minor unit", () => {
  it.each([
    [1, 1_500_000, 2], // 1.5 rounds up
    [1, 1_499_999, 1],
    [10_000, 1_150_000, 11_500],
    [1_234_567, 1_150_000, 1_419_752], // 1,419,752.05 rounds down, with no floating-point drift
    [3, 333_333, 1], // 0.999999
  ])("%i at %i millionths is %i", (amount, rateMicros, expected) => {
    expect(convert(amount, rateMicros)).toBe(expected);
  });

  it("the largest batch at the largest rate is still a safe integer", () => {
    const largest = MAX_INVOICES_PER_BATCH * MAX_INVOICE_AMOUNT_CENTS;
    const converted = convert(largest, MAX_FX_RATE * 1_000_000);
    expect(converted).toBe(largest * MAX_FX_RATE);
    expect(Number.isSafeInteger(converted)).toBe(true);
  });
});
