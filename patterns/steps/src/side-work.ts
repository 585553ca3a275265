import type { DurableContext, RetryDecision } from "@aws/durable-execution-sdk-js";
import { outcomeOfFailedStep } from "./call-outcome";
import { boundedCall } from "./provider-call";

/**
 * Side work is best effort: a tracking email or a review request that cannot be sent never fails an order that
 * was charged and shipped. Its failure is recorded where someone will see it: in the execution's result, and in
 * a `context.logger` line (replay-aware, so it is logged once).
 */
export interface SideWorkRecord {
  operation: string;
  /** Not sent for certain, or in doubt: the last attempts timed out, and the message may have gone out. */
  status: "sent" | "not-sent" | "in-doubt";
  /** Why it is not known to be sent: the last attempt's error. */
  error?: string;
}

/**
 * Runs `work` as a step with its own retries and turns its final failure into a record instead of an error.
 * The step's failure is checkpointed, so a replay takes the same branch without calling the provider again.
 * The reservation's release goes through it too: a release that fails is named in the order's error instead.
 */
export async function bestEffort(
  context: DurableContext,
  name: string,
  work: () => Promise<unknown>,
  retryStrategy: (error: Error, attemptsMade: number) => RetryDecision,
): Promise<SideWorkRecord> {
  try {
    // Bounded: a provider's 40 KB error page must not make the checkpoint of this failure fail the order.
    await context.step(name, async () => void (await boundedCall(work)), { retryStrategy });
    return { operation: name, status: "sent" };
  } catch (error) {
    const message = (error as Error).message;
    const status =
      outcomeOfFailedStep(error, { stopsInDoubt: false }) === "not-done" ? "not-sent" : "in-doubt";
    context.logger.warn("Best-effort step failed; recorded, not thrown", {
      operation: name,
      status,
      error: message,
    });
    return { operation: name, status, error: message };
  }
}
