/**
 * A circuit breaker for a flaky provider, as pure functions over a stored record. The record lives in a
 * durable store shared by every execution (DynamoDB in production), and the workflow reads and writes it only
 * inside steps, so each decision is checkpointed: a replay gets the decision the first run made, never a
 * fresh one. Nothing here is kept in a closure or a module variable.
 */
export interface BreakerPolicy {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit stays open before one execution may try again (half-open). */
  coolDownMs: number;
}

export interface BreakerRecord {
  state: "closed" | "open";
  consecutiveFailures: number;
  /** Epoch milliseconds when the circuit last opened. */
  openedAt?: number;
  /** Incremented on every write, for optimistic concurrency. 0 means "never written". */
  version: number;
}

/** What one execution decided, checkpointed as the result of the check step. */
export interface BreakerDecision {
  state: "closed" | "open" | "half-open";
  consecutiveFailures: number;
  /** The version read, so the follow-up write knows what it is replacing. */
  version: number;
  openedAt?: number;
}

export const CLOSED: BreakerRecord = { state: "closed", consecutiveFailures: 0, version: 0 };

export function decide(record: BreakerRecord = CLOSED, now: number, policy: BreakerPolicy): BreakerDecision {
  const { consecutiveFailures, version, openedAt } = record;
  if (record.state === "open") {
    const coolingDown = openedAt !== undefined && now - openedAt < policy.coolDownMs;
    return { state: coolingDown ? "open" : "half-open", consecutiveFailures, version, openedAt };
  }
  return { state: "closed", consecutiveFailures, version };
}

/** A call failed: count it, and open the circuit at the threshold (or again at once after a failed trial). */
export function afterFailure(
  record: BreakerRecord = CLOSED,
  now: number,
  policy: BreakerPolicy,
): BreakerRecord {
  const consecutiveFailures = record.consecutiveFailures + 1;
  const opens = record.state === "open" || consecutiveFailures >= policy.failureThreshold;
  return opens
    ? { state: "open", consecutiveFailures, openedAt: now, version: record.version + 1 }
    : { state: "closed", consecutiveFailures, version: record.version + 1 };
}

/** A call succeeded: the provider is healthy again. */
export function afterSuccess(record: BreakerRecord = CLOSED): BreakerRecord {
  return { state: "closed", consecutiveFailures: 0, version: record.version + 1 };
}

/** Whether a success needs writing at all: a clean closed circuit stays as it is (no write per booking). */
export function needsReset(decision: BreakerDecision): boolean {
  return decision.state !== "closed" || decision.consecutiveFailures > 0;
}
