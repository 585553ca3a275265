import type { FxQuote } from "./answers";

/**
 * Which exchange-rate quotes count, and the rate the books get. Pure: it sees only checkpointed quotes, so a
 * replay decides the same.
 *
 * - A quote that failed its checks (see answers.ts: not a number, zero, negative, out of range, another pair,
 *   another request, unexpected fields) never got here: its branch failed, and it is listed as discarded.
 * - At least QUOTES_NEEDED quotes must remain, or there is no rate.
 * - An outlier is a quote more than MAX_DEVIATION_PER_MILLE (0.5%) from the median of the quotes. Providers of
 *   a major pair agree to a few hundredths of a percent; a rate off by more is a stale, inverted or mis-scaled
 *   quote, not a market view. Outliers are discarded. With two quotes the median is their mean, so two quotes
 *   further than about 1% apart are both discarded: two cannot tell which one is wrong, and a wrong rate in the
 *   books is worse than none.
 * - The rate is the mean of the quotes kept, in millionths, rounded half up. It is the rate reported and the
 *   rate applied: an auditor multiplying the two reported numbers gets the reported amount.
 */
export const QUOTES_NEEDED = 2;

/** The currency the books are kept in: each batch's sent total is reported in it. */
export const REPORTING_CURRENCY = "EUR";
export const MAX_DEVIATION_PER_MILLE = 5;

export interface Discarded {
  provider: string;
  reason: string;
}

export type FxDecision =
  | { outcome: "AGREED"; rate: number; rateMicros: number; quotes: FxQuote[]; discarded: Discarded[] }
  | { outcome: "NO_RATE"; reason: string; quotes: FxQuote[]; discarded: Discarded[] };

export function agreeOnRate(quotes: FxQuote[], discarded: Discarded[]): FxDecision {
  if (quotes.length < QUOTES_NEEDED) {
    return {
      outcome: "NO_RATE",
      reason: `${quotes.length} valid quote(s), ${QUOTES_NEEDED} needed`,
      quotes,
      discarded,
    };
  }
  // Twice the median, so that the median of an even count stays an integer.
  const sorted = quotes.map((quote) => quote.rateMicros).sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const twiceMedian = sorted.length % 2 === 1 ? 2 * sorted[middle]! : sorted[middle - 1]! + sorted[middle]!;
  const isOutlier = (quote: FxQuote) =>
    Math.abs(2 * quote.rateMicros - twiceMedian) * 1000 > twiceMedian * MAX_DEVIATION_PER_MILLE;

  const kept = quotes.filter((quote) => !isOutlier(quote));
  const outliers = quotes.filter(isOutlier).map((quote) => ({
    provider: quote.provider,
    reason: `${formatRate(quote.rateMicros)} is more than ${MAX_DEVIATION_PER_MILLE / 10}% from the median ${formatRate(twiceMedian / 2)}`,
  }));
  const allDiscarded = [...discarded, ...outliers];
  if (kept.length < QUOTES_NEEDED) {
    return {
      outcome: "NO_RATE",
      reason: `the quotes disagree (${quotes.map((q) => `${q.provider} ${formatRate(q.rateMicros)}`).join(", ")})`,
      quotes: kept,
      discarded: allDiscarded,
    };
  }
  const rateMicros = Math.round(kept.reduce((sum, quote) => sum + quote.rateMicros, 0) / kept.length);
  return {
    outcome: "AGREED",
    rate: rateMicros / 1_000_000,
    rateMicros,
    quotes: kept,
    discarded: allDiscarded,
  };
}

/**
 * An amount in minor units at a rate in millionths, rounded half up to the minor unit, in exact integer
 * arithmetic. Amounts are positive and bounded (see input.ts), rates at most MAX_FX_RATE, so the result is a
 * safe integer.
 */
export function convert(amountMinor: number, rateMicros: number): number {
  const product = BigInt(amountMinor) * BigInt(rateMicros);
  return Number((product + 500_000n) / 1_000_000n);
}

function formatRate(rateMicros: number): string {
  return (rateMicros / 1_000_000).toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
}
