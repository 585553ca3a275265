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
  /**
   * Epoch milliseconds when one booking claimed the half-open trial. While it is recent, every other booking
   * sees the circuit open: exactly one trial at a time, claimed by a conditional write on `version`.
   */
  trialStartedAt?: number;
  /** Who claimed the trial: the claiming execution, so its own re-run after a crash recognises the claim. */
  trialClaimedBy?: string;
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
  /** Half-open, but another booking claimed the trial first: this one treats the circuit as open. */
  trialTaken?: boolean;
}

export const CLOSED: BreakerRecord = { state: "closed", consecutiveFailures: 0, version: 0 };

/**
 * What the record says now. "half-open" means a trial may be claimed, not that this booking has it: the
 * caller claims it with `claimTrial` and a conditional write, and only the writer that wins makes the call.
 * A trial claimed longer than a cool-down ago is taken as abandoned (its booking died), so another may start;
 * the claimant's own re-run (after a crash between the claim and its checkpoint) still sees its trial.
 */
export function decide(
  record: BreakerRecord = CLOSED,
  now: number,
  policy: BreakerPolicy,
  claimant?: string,
): BreakerDecision {
  const { consecutiveFailures, version, openedAt, trialStartedAt, trialClaimedBy } = record;
  if (record.state === "open") {
    const coolingDown = openedAt !== undefined && now - openedAt < policy.coolDownMs;
    const trialRunning =
      trialStartedAt !== undefined &&
      now - trialStartedAt < policy.coolDownMs &&
      (claimant === undefined || trialClaimedBy !== claimant);
    const state = coolingDown || trialRunning ? "open" : "half-open";
    return { state, consecutiveFailures, version, openedAt };
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

/** The record that claims the half-open trial for one booking; written only if `version` is unchanged. */
export function claimTrial(record: BreakerRecord, now: number, claimant: string): BreakerRecord {
  return { ...record, trialStartedAt: now, trialClaimedBy: claimant, version: record.version + 1 };
}

/** A call succeeded: the provider is healthy again. */
export function afterSuccess(record: BreakerRecord = CLOSED): BreakerRecord {
  return { state: "closed", consecutiveFailures: 0, version: record.version + 1 };
}

/** Whether a success needs writing at all: a clean closed circuit stays as it is (no write per booking). */
export function needsReset(decision: BreakerDecision): boolean {
  return decision.state !== "closed" || decision.consecutiveFailures > 0;
}

/** Someone else wrote the breaker record between our read and our write. Retry with a fresh read. */
export class StaleBreakerRecordError extends Error {
  override readonly name = "StaleBreakerRecordError";
  constructor(message = "The breaker record changed since it was read") {
    super(message);
  }
}
