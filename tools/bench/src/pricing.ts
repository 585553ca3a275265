/**
 * AWS Lambda durable functions pricing, US East (N. Virginia), from https://aws.amazon.com/lambda/pricing/
 * as published at launch (December 2025) and still listed in a transcription of that page read on
 * 2026-09-20. Durable functions also pay the ordinary Lambda request and duration charges for each
 * invocation; those depend on memory and code speed, not on the pattern's shape, so they are left out.
 */
export const DURABLE_PRICING = {
  source:
    "https://aws.amazon.com/lambda/pricing/ (durable functions section; launch prices, Dec 2025; re-read 2026-09-20)",
  region: "us-east-1",
  /** Each checkpointed durable operation (step, wait, callback, context, invoke...). */
  perMillionOperationsUsd: 8.0,
  /** Data written by checkpoints. */
  perGbWrittenUsd: 0.25,
  /** Data retained during execution and the retention period. */
  perGbMonthRetainedUsd: 0.15,
} as const;

const GB = 1024 ** 3;

/**
 * Estimated durable charges for one million executions: operations plus data written. Retention is
 * reported separately because it depends on the retention period you configure.
 */
export function costPerMillionExecutions(operations: number, bytesWritten: number): number {
  const operationsUsd = operations * DURABLE_PRICING.perMillionOperationsUsd;
  const writtenUsd = ((bytesWritten * 1_000_000) / GB) * DURABLE_PRICING.perGbWrittenUsd;
  return operationsUsd + writtenUsd;
}
