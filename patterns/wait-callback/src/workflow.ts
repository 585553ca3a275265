import {
  CallbackExternalError,
  CallbackTimeoutError,
  createRetryStrategy,
  createWaitStrategy,
  JitterStrategy,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { TransientServiceError, redactCallbackId, type JobState, type PurchaseDeps } from "./deps";
import {
  approvalAnswerSerdes,
  parsePurchaseRequest,
  type CheckedAnswer,
  type PurchaseRequest,
} from "./input";

export interface WorkflowConfig {
  /** The manager must answer, or press "need more time" (a heartbeat), within heartbeatTimeout; never past timeout. */
  manager: { timeout: Duration; heartbeatTimeout: Duration };
  /** The director, after an escalation, is reminded every remindEvery, at most maxReminders times, until timeout. */
  director: { timeout: Duration; remindEvery: Duration; maxReminders: number };
  /** The supplier never ships within this time of an order: no point in asking before. */
  supplierLeadTime: Duration;
  /** Status checks of the fulfilment job: exponential backoff from firstDelay to maxDelay, at most maxChecks. */
  polling: { firstDelay: Duration; maxDelay: Duration; maxChecks: number };
}

/**
 * Real-world durations. While the function waits for any of them it is suspended: no invocation is running, so
 * a 5-day approval or a 4-hour lead time costs nothing but the stored checkpoints.
 */
export const defaultConfig: WorkflowConfig = {
  manager: { timeout: { days: 5 }, heartbeatTimeout: { days: 2 } },
  director: { timeout: { days: 3 }, remindEvery: { days: 1 }, maxReminders: 2 },
  supplierLeadTime: { hours: 4 },
  polling: { firstDelay: { minutes: 30 }, maxDelay: { hours: 6 }, maxChecks: 12 },
};

export type PurchaseOutcome =
  | {
      requestId: string;
      reference: string;
      status: "SHIPPED";
      approvedBy: string;
      escalated: boolean;
      jobId: string;
      trackingNumber: string;
      statusChecks: number;
    }
  | {
      requestId: string;
      reference: string;
      status: "DECLINED";
      reason: "REJECTED" | "NO_ANSWER" | "INVALID_ANSWER";
      detail: string;
      escalated: boolean;
    };

/** The supplier reported the job failed: a person has to sort it out with them. */
export class FulfilmentFailedError extends Error {
  override readonly name = "FulfilmentFailedError";
}
/** The job was still not finished after the last status check. */
export class FulfilmentNotFinishedError extends Error {
  override readonly name = "FulfilmentNotFinishedError";
}

/** The chat webhook may be briefly down: a submitter or reminder step retries it, with the same callback id. */
export const retryTransient = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 5 },
  maxDelay: { minutes: 2 },
  retryableErrorTypes: [TransientServiceError],
});

/**
 * A purchase request: submit it, get an approval (manager, or the director after an escalation, or
 * auto-decline), record the decision, order, then wait for the supplier to ship.
 *
 * The handler body re-runs from the top on every invocation (replay). Completed operations return their
 * checkpointed results instead of running again, so every side effect is inside a step, and everything
 * outside steps is deterministic.
 */
export async function handlePurchaseRequest(
  event: unknown,
  context: DurableContext,
  deps: PurchaseDeps,
  config: WorkflowConfig = defaultConfig,
): Promise<PurchaseOutcome> {
  // Pure and deterministic: bad input fails here, before any side effect, and is never retried.
  const request = parsePurchaseRequest(event);
  const key = (action: string) => `${request.requestId}:${action}`;

  const { reference } = await context.step(
    "submit-request",
    () => deps.purchasing.submit({ request, idempotencyKey: key("submit") }),
    { retryStrategy: retryTransient },
  );

  // waitForCallback creates a callback, runs the submitter (a step) with its id, then suspends the function
  // until someone completes the callback, it times out, or no heartbeat arrives within heartbeatTimeout.
  // The manager's "need more time" link sends a heartbeat, which restarts the heartbeat clock.
  const managerAnswer = context.waitForCallback(
    "ask-manager",
    async (callbackId, { logger }) => {
      await deps.approvals.askForDecision({
        kind: "approval",
        approver: request.approvers.manager,
        callbackId,
        request,
        idempotencyKey: key("ask-manager"),
      });
      // The callback id is a bearer token: log a redacted form only.
      logger.info("Asked the manager", { callbackId: redactCallbackId(callbackId) });
    },
    { ...config.manager, serdes: approvalAnswerSerdes, retryStrategy: retryTransient },
  );
  let verdict = await verdictOf(managerAnswer);
  const escalated = verdict.kind === "no-answer";
  if (verdict.kind === "no-answer") {
    context.logger.info("Manager did not answer in time; escalating", { requestId: request.requestId });
    verdict = await verdictOf(askDirectorWithReminders(context, deps, request, config));
  }

  const outcome: Verdict =
    verdict.kind === "no-answer"
      ? {
          kind: "declined",
          reason: "NO_ANSWER",
          detail: "Auto-declined: neither the manager nor the director answered in time",
        }
      : verdict;
  await context.step(
    "record-decision",
    () =>
      deps.purchasing.recordDecision({
        requestId: request.requestId,
        reference,
        decision: outcome.kind === "approved" ? "APPROVED" : "DECLINED",
        detail: outcome.kind === "approved" ? `Approved by ${outcome.approvedBy}` : outcome.detail,
        idempotencyKey: key("record-decision"),
      }),
    { retryStrategy: retryTransient },
  );
  if (outcome.kind !== "approved") {
    return {
      requestId: request.requestId,
      reference,
      status: "DECLINED",
      reason: outcome.reason,
      detail: outcome.detail,
      escalated,
    };
  }

  const { jobId } = await context.step(
    "place-order",
    () =>
      deps.supplier.placeOrder({
        requestId: request.requestId,
        supplier: request.item.supplier,
        description: request.item.description,
        quantity: request.item.quantity,
        amountCents: request.amountCents,
        currency: request.currency,
        idempotencyKey: key("place-order"),
      }),
    { retryStrategy: retryTransient },
  );

  // A durable wait: the function suspends and the service invokes it again in 4 hours. No compute is billed
  // meanwhile, and a deploy or crash in between changes nothing: the wait is a checkpoint, not a timer in memory.
  await context.wait("wait-for-supplier-lead-time", config.supplierLeadTime);

  const job = await pollFulfilment(context, deps, jobId, config);
  return {
    requestId: request.requestId,
    reference,
    status: "SHIPPED",
    approvedBy: outcome.approvedBy,
    escalated,
    jobId,
    trackingNumber: job.trackingNumber ?? "",
    statusChecks: job.checks,
  };
}

/**
 * Escalation with reminders, built only from durable operations. createCallback gives us the callback's promise
 * and id without waiting, so the workflow can do other durable things while the director thinks: each turn races
 * the answer against a durable wait, and when the wait wins it sends a reminder.
 *
 * A `setTimeout` raced with `Promise.race` would not survive: the function is suspended while it waits (the
 * process, and the timer with it, is gone), every replay would start a fresh timer from zero, and nothing would
 * record which side won, so a replay could take the other branch. context.wait is a timer kept by the service,
 * and context.promise.race checkpoints its outcome, so every replay takes the same branch.
 */
async function askDirectorWithReminders(
  context: DurableContext,
  deps: PurchaseDeps,
  request: PurchaseRequest,
  config: WorkflowConfig,
): Promise<CheckedAnswer> {
  const director = request.approvers.director;
  const key = (action: string) => `${request.requestId}:${action}`;
  // The callback's timeout is the hard deadline; after it the answer rejects with CallbackTimeoutError.
  const [answer, callbackId] = await context.createCallback("director-approval", {
    timeout: config.director.timeout,
    serdes: approvalAnswerSerdes,
  });
  await context.step(
    "notify-director",
    () =>
      deps.approvals.askForDecision({
        kind: "escalation",
        approver: director,
        callbackId,
        request,
        idempotencyKey: key("escalate"),
      }),
    { retryStrategy: retryTransient },
  );

  // The loop bound and the names come from a fixed config and a turn number: identical on every replay.
  for (let turn = 1; turn <= config.director.maxReminders; turn++) {
    const reminderDue = context.wait(`wait-before-reminder-${turn}`, config.director.remindEvery);
    // Resolves with the answer, or undefined when the wait wins. It rejects when the callback fails or times
    // out, wrapped in a PromiseCombinatorError: awaiting `answer` below gives back the callback's own error.
    const first = await context.promise
      .race<CheckedAnswer | void>(`director-answer-or-reminder-${turn}`, [answer, reminderDue])
      .catch(() => "settled" as const);
    if (first !== undefined) break;
    await context.step(
      `remind-director-${turn}`,
      () =>
        deps.approvals.askForDecision({
          kind: "reminder",
          reminderNumber: turn,
          approver: director,
          callbackId,
          request,
          idempotencyKey: key(`remind-director-${turn}`),
        }),
      { retryStrategy: retryTransient },
    );
  }
  return answer;
}

type Verdict =
  | { kind: "approved"; approvedBy: string; comment?: string }
  | { kind: "declined"; reason: "REJECTED" | "INVALID_ANSWER" | "NO_ANSWER"; detail: string }
  | { kind: "no-answer"; detail: string };

/**
 * Turns an approver's answer into a verdict. Every branch is a value the workflow handles: an approval, a
 * rejection (an answer that says reject, or a failure sent with SendDurableExecutionCallbackFailure, which
 * arrives as CallbackExternalError), a malformed answer (declined: never taken for an approval), or no answer
 * in time (CallbackTimeoutError, from the overall timeout or a missed heartbeat).
 */
export async function verdictOf(answer: PromiseLike<CheckedAnswer>): Promise<Verdict> {
  let checked: CheckedAnswer;
  try {
    checked = await answer;
  } catch (error) {
    if (error instanceof CallbackTimeoutError) return { kind: "no-answer", detail: error.message };
    if (error instanceof CallbackExternalError) {
      return { kind: "declined", reason: "REJECTED", detail: `Rejected: ${error.message}` };
    }
    throw error;
  }
  if (!checked.valid) {
    return {
      kind: "declined",
      reason: "INVALID_ANSWER",
      detail: `Declined, the answer was invalid: ${checked.problems.join("; ")}`,
    };
  }
  const { decision, decidedBy, comment } = checked.answer;
  if (decision === "reject") {
    return {
      kind: "declined",
      reason: "REJECTED",
      detail: `Rejected by ${decidedBy}${comment ? `: ${comment}` : ""}`,
    };
  }
  return comment === undefined
    ? { kind: "approved", approvedBy: decidedBy }
    : { kind: "approved", approvedBy: decidedBy, comment };
}

interface JobProgress {
  jobId: string;
  state: JobState | "UNKNOWN";
  checks: number;
  trackingNumber?: string;
  detail?: string;
}

const isFinal = (state: JobProgress["state"]) => state === "SHIPPED" || state === "FAILED";

/**
 * Polls the supplier with waitForCondition: each check is checkpointed with its state, and between checks the
 * function is suspended for the backoff delay (30 min, 1 h, 2 h, ... capped at 6 h, jittered).
 *
 * The bound on checks ends the polling with `shouldContinue: false` and the workflow then throws its own clear
 * error, naming the last state seen. We do not let createWaitStrategy's maxAttempts end it: that throws inside
 * waitForCondition, and SDK 2.4.0 then checkpoints FAIL once per check made in the same invocation; the second
 * FAIL is refused ("Invalid current STEP state to close") and the invocation fails instead of the poll
 * (see the README's pitfalls). A check that throws after an in-process retry takes the same path, so the check
 * never throws either.
 */
async function pollFulfilment(
  context: DurableContext,
  deps: PurchaseDeps,
  jobId: string,
  config: WorkflowConfig,
): Promise<JobProgress> {
  const { maxChecks } = config.polling;
  const backoff = createWaitStrategy<JobProgress>({
    shouldContinuePolling: (progress) => !isFinal(progress.state),
    initialDelay: config.polling.firstDelay,
    maxDelay: config.polling.maxDelay,
    backoffRate: 2,
    // HALF jitter keeps each delay between half and all of the backoff: spread out, still growing.
    jitter: JitterStrategy.HALF,
  });
  const job = await context.waitForCondition<JobProgress>(
    "poll-fulfilment",
    async (previous, { attempt }) => {
      // A flaky status API counts as "not known yet": the next check tries again.
      try {
        const status = await deps.supplier.jobStatus({ jobId: previous.jobId });
        return { ...previous, ...status, checks: attempt };
      } catch (error) {
        return { ...previous, state: "UNKNOWN", detail: (error as Error).message, checks: attempt };
      }
    },
    {
      initialState: { jobId, state: "QUEUED", checks: 0 },
      // Stop at the bound (the result is then not final), otherwise back off exponentially.
      waitStrategy: (progress, attempt) =>
        attempt >= maxChecks ? { shouldContinue: false } : backoff(progress, attempt),
    },
  );
  if (job.state === "FAILED") {
    throw new FulfilmentFailedError(`Supplier job ${jobId} failed: ${job.detail ?? "no detail given"}`);
  }
  if (job.state !== "SHIPPED") {
    throw new FulfilmentNotFinishedError(
      `Supplier job ${jobId} was not finished after ${job.checks} status checks (last state ${job.state}${job.detail ? `: ${job.detail}` : ""}); ask the supplier, then ship or cancel by hand`,
    );
  }
  return job;
}
