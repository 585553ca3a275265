import {
  createWaitStrategy,
  JitterStrategy,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { approvalAnswerSerdes, type CheckedAnswer } from "./answers";
import { asItsCause, notSentForGood, refusedForGood } from "./call-outcome";
import { plainLine } from "./chat-text";
import { checkedDeps } from "./checked-deps";
import { redactCallbackId, type JobState, type PurchaseDeps } from "./deps";
import { executionKey, linkKey, requestKey } from "./idempotency";
import { parsePurchaseRequest, type PurchaseRequest } from "./input";
import { retryTransient } from "./retries";
import { verdictOf, type RefusedAnswer, type Verdict } from "./verdicts";

export interface WorkflowConfig {
  /**
   * The manager must answer within timeout. With a heartbeatTimeout she must also answer, or press "need more
   * time" (a heartbeat), within it; only then does her message offer that link.
   */
  manager: { timeout: Duration; heartbeatTimeout?: Duration };
  /** The director, after an escalation, is reminded every remindEvery, at most maxReminders times, until timeout. */
  director: { timeout: Duration; remindEvery: Duration; maxReminders: number };
  /**
   * How many times one approver is asked. A refused answer (from someone else, or unreadable) uses up its
   * callback, so the approver gets a new link, each round with the stage's full timeout; after the last round
   * the stage counts as unanswered.
   */
  askRounds: number;
  /** The supplier never ships within this time of an order: no point in asking before. */
  supplierLeadTime: Duration;
  /** Status checks of the fulfilment job: exponential backoff from firstDelay to maxDelay, at most maxChecks. */
  polling: { firstDelay: Duration; maxDelay: Duration; maxChecks: number };
}

/**
 * Real-world durations. While the function waits for any of them it is suspended: no invocation is running, so
 * a 5-day approval or a 4-hour lead time costs nothing but the stored checkpoints. The longest path, three
 * rounds for each approver, is 3 x 5 + 3 x 3 = 24 days of approval, plus the lead time and about two days of
 * polling: within the 30-day execution timeout the stack deploys with.
 */
export const defaultConfig: WorkflowConfig = {
  manager: { timeout: { days: 5 }, heartbeatTimeout: { days: 2 } },
  director: { timeout: { days: 3 }, remindEvery: { days: 1 }, maxReminders: 2 },
  askRounds: 3,
  supplierLeadTime: { hours: 4 },
  polling: { firstDelay: { minutes: 30 }, maxDelay: { hours: 6 }, maxChecks: 12 },
};

/** A reminder that could not be delivered. Reminders are courtesy: the request goes on without them. */
export interface FailedReminder {
  operation: string;
  error: string;
}

interface Recorded {
  requestId: string;
  reference: string;
  escalated: boolean;
  /** Answers that were not taken as decisions (forgeries, unreadable answers), in the order they came. */
  refusedAnswers: RefusedAnswer[];
  failedReminders: FailedReminder[];
}
export type PurchaseOutcome =
  | (Recorded & {
      status: "SHIPPED";
      approvedBy: string;
      jobId: string;
      trackingNumber: string;
      statusChecks: number;
    })
  | (Recorded & { status: "DECLINED"; reason: "REJECTED" | "NO_ANSWER"; detail: string });

/** The supplier reported the job failed: a person has to sort it out with them. */
export class FulfilmentFailedError extends Error {
  override readonly name = "FulfilmentFailedError";
}
/** The job was still not finished after the last status check. */
export class FulfilmentNotFinishedError extends Error {
  override readonly name = "FulfilmentNotFinishedError";
}
/** The decision request could not be delivered to the approver: nobody could answer. Recorded as declined. */
export class ApprovalRequestUndeliverableError extends Error {
  override readonly name = "ApprovalRequestUndeliverableError";
}
/** The supplier refused the approved order: nothing was ordered. Recorded in purchasing as not ordered. */
export class OrderRefusedError extends Error {
  override readonly name = "OrderRefusedError";
}
/**
 * The approved order could not be sent: a setting (the supplier's URL, the API token's secret) is missing or
 * unusable, and the first attempt failed on it before anything left. Nothing was ordered; purchasing is told so.
 */
export class OrderNotSentError extends Error {
  override readonly name = "OrderNotSentError";
}
/** The order may or may not have been placed after every retry: a person checks with the supplier by its key. */
export class OrderInDoubtError extends Error {
  override readonly name = "OrderInDoubtError";
}

/**
 * What asking one approver came to: a decision, none (timeouts, or only refused answers), or no way to ask
 * (the decision request could not be delivered after its retries).
 */
interface StageResult {
  verdict: Exclude<Verdict, { kind: "refused" }> | { kind: "undeliverable"; detail: string };
  refused: RefusedAnswer[];
  failedReminders: FailedReminder[];
}

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
  // Whatever the deps are, their answers are checked and their errors bounded and stripped of callback ids.
  const outside = checkedDeps(deps);
  // Keys (idempotency.ts): per request for the submission and the order, per execution for the decision.
  const recordKey = (action: string) =>
    executionKey(request.requestId, context.executionContext.durableExecutionArn, action);

  // A step failure that ends the execution is rethrown under its cause's name (SecretSettingError, ClientError,
  // ...: call-outcome.ts), which is the execution's error type; the SDK's own would be StepError.
  const { reference } = await context
    .step(
      "submit-request",
      () => outside.purchasing.submit({ request, idempotencyKey: requestKey(request.requestId, "submit") }),
      { retryStrategy: retryTransient },
    )
    .catch((error: unknown) => {
      throw asItsCause(error);
    });

  // Only an answer from the person asked is a decision (verdicts.ts); anything else asks that person again.
  // A decision request that cannot be delivered leaves nobody able to answer: that is recorded too (below).
  let stage = await askManager(context, outside, request, config).catch(undeliverable("manager"));
  const refusedAnswers = [...stage.refused];
  const escalated = stage.verdict.kind === "no-answer";
  if (escalated) {
    stage = await askDirectorWithReminders(context, outside, request, config).catch(
      undeliverable("director"),
    );
    refusedAnswers.push(...stage.refused);
  }
  const { failedReminders } = stage;
  const recorded = { requestId: request.requestId, reference, escalated, refusedAnswers, failedReminders };
  const refusedNote =
    refusedAnswers.length === 0
      ? ""
      : ` (${refusedAnswers.length} answer(s) refused: see the execution result)`;

  const verdict = stage.verdict;
  const outcome =
    verdict.kind === "no-answer"
      ? {
          kind: "declined" as const,
          reason: "NO_ANSWER" as const,
          detail: "Auto-declined: neither the manager nor the director decided in time",
        }
      : verdict;
  // Every path records a decision, so no request is left pending in purchasing: approved, rejected, no answer,
  // or nobody could be asked.
  await context
    .step(
      "record-decision",
      () =>
        outside.purchasing.recordDecision({
          requestId: request.requestId,
          reference,
          decision: outcome.kind === "approved" ? "APPROVED" : "DECLINED",
          detail: `${outcome.kind === "approved" ? `Approved by ${outcome.approvedBy}` : outcome.detail}${refusedNote}`,
          idempotencyKey: recordKey("record-decision"),
        }),
      { retryStrategy: retryTransient },
    )
    .catch((error: unknown) => {
      throw asItsCause(error);
    });
  if (outcome.kind === "undeliverable") throw new ApprovalRequestUndeliverableError(outcome.detail);
  if (outcome.kind !== "approved") {
    return {
      ...recorded,
      status: "DECLINED",
      reason: outcome.reason,
      detail: outcome.detail,
    };
  }

  // The order's key is per request: a second execution for the same request gets the first one's job back.
  const orderKey = requestKey(request.requestId, "place-order");
  const placed = await context
    .step(
      "place-order",
      async ({ attempt }): Promise<{ jobId: string } | { notSent: string }> => {
        try {
          return await outside.supplier.placeOrder({
            requestId: request.requestId,
            supplier: request.item.supplier,
            description: request.item.description,
            quantity: request.item.quantity,
            amountCents: request.amountCents,
            currency: request.currency,
            idempotencyKey: orderKey,
          });
        } catch (error) {
          // A setting that cannot be used fails before anything is sent. On the first attempt that means no
          // order ever left, which only this attempt knows: it is the step's result, so the workflow can say
          // not done. On a later attempt an earlier one may have placed the order: it fails, in doubt.
          if (attempt === 1 && notSentForGood(error)) return { notSent: (error as Error).message };
          throw error;
        }
      },
      { retryStrategy: retryTransient },
    )
    .catch((error: unknown) =>
      orderNotPlaced(context, outside, request, reference, orderKey, recordKey, error),
    );
  if ("notSent" in placed) {
    return orderNotSent(context, outside, request, reference, recordKey, placed.notSent);
  }
  const { jobId } = placed;

  // A durable wait: the function suspends and the service invokes it again in 4 hours. No compute is billed
  // meanwhile, and a deploy or crash in between changes nothing: the wait is a checkpoint, not a timer in memory.
  await context.wait("wait-for-supplier-lead-time", config.supplierLeadTime);

  const job = await pollFulfilment(context, outside, jobId, config);
  return {
    ...recorded,
    status: "SHIPPED",
    approvedBy: outcome.approvedBy,
    jobId,
    trackingNumber: job.trackingNumber,
    statusChecks: job.checks,
  };
}

/** A decision request that failed after its retries: nobody can answer, so the stage ends without a decision. */
const undeliverable =
  (approver: "manager" | "director") =>
  (error: unknown): StageResult => ({
    verdict: {
      kind: "undeliverable",
      detail: `Not decided: the request could not be sent to the ${approver} (${plainLine((error as Error).message ?? String(error), 200)})`,
    },
    refused: [],
    failedReminders: [],
  });

/**
 * The order was not placed. Refused (a 4xx): nothing was ordered, so purchasing's APPROVED is corrected to
 * "approved, not ordered" (declined, with the supplier's reason) and the execution fails with the refusal.
 * In doubt after every retry: the supplier may hold the order, so nothing is corrected (that could contradict
 * goods on their way), and the execution fails naming the order's key for a person to look it up. That includes
 * a step that ended in "not sent" (a setting on a later attempt, a refused connection): it proves that only of
 * its own attempt, and an earlier one may have placed the order.
 */
async function orderNotPlaced(
  context: DurableContext,
  outside: PurchaseDeps,
  request: PurchaseRequest,
  reference: string,
  orderKey: string,
  recordKey: (action: string) => string,
  error: unknown,
): Promise<never> {
  const why = plainLine((error as Error).message ?? String(error), 200);
  if (!refusedForGood(error)) {
    throw new OrderInDoubtError(
      `The order for ${request.requestId} is in doubt after every retry (${why}): ask the supplier for idempotency key ${orderKey}, then ship or cancel by hand`,
    );
  }
  const detail = `Approved, but the supplier refused the order, so nothing was ordered: ${why}`;
  throw new OrderRefusedError(
    `${detail}${await recordNotOrdered(context, outside, request, reference, recordKey, detail)}`,
  );
}

/** The order never left (see place-order): nothing was ordered, and purchasing is told, as for a refusal. */
async function orderNotSent(
  context: DurableContext,
  outside: PurchaseDeps,
  request: PurchaseRequest,
  reference: string,
  recordKey: (action: string) => string,
  reason: string,
): Promise<never> {
  const detail = `Approved, but the order could not be sent, so nothing was ordered: ${plainLine(reason, 200)}`;
  throw new OrderNotSentError(
    `${detail}${await recordNotOrdered(context, outside, request, reference, recordKey, detail)}`,
  );
}

/**
 * Corrects purchasing's APPROVED to "approved, not ordered" (declined, with the reason). Answers "" when that was
 * recorded, otherwise what the execution's error must add: purchasing still says APPROVED.
 */
async function recordNotOrdered(
  context: DurableContext,
  outside: PurchaseDeps,
  request: PurchaseRequest,
  reference: string,
  recordKey: (action: string) => string,
  detail: string,
): Promise<string> {
  return context
    .step(
      "record-order-refused",
      () =>
        outside.purchasing.recordDecision({
          requestId: request.requestId,
          reference,
          decision: "DECLINED",
          detail,
          idempotencyKey: recordKey("record-order-refused"),
        }),
      { retryStrategy: retryTransient },
    )
    .then(
      () => "",
      (recordError: unknown) =>
        `; purchasing could not be told and still says APPROVED (${plainLine((recordError as Error).message ?? "", 120)})`,
    );
}

/** Round 1 keeps the plain names; later rounds (after a refused answer) carry the round: `ask-manager-round-2`. */
const inRound = (name: string, round: number) => (round === 1 ? name : `${name}-round-${round}`);

/**
 * Asks the manager, round after round until she decides, stays silent (the caller escalates), or the rounds
 * run out. The loop bound comes from the config and the names from the round number: identical on replay.
 */
async function askManager(
  context: DurableContext,
  deps: PurchaseDeps,
  request: PurchaseRequest,
  config: WorkflowConfig,
): Promise<StageResult> {
  const manager = request.approvers.manager;
  const refused: RefusedAnswer[] = [];
  for (let round = 1; round <= config.askRounds; round++) {
    // createCallback gives the callback's promise and id; the step then sends the id in Dana's links, and
    // awaiting the answer suspends the function until someone completes the callback, it times out, or no
    // heartbeat arrives within heartbeatTimeout ("need more time" sends one and restarts that clock).
    // Not waitForCallback, its short form: that wraps the two in a child context, whose failure checkpoint
    // carries a callback failure's free-text message, and one of 32 KB (anyone with the link can send it)
    // makes that checkpoint fail and the invocation crash on every retry. A callback's own failure is kept
    // by the service, and verdictOf bounds the message before it goes anywhere.
    const [managerAnswer, callbackId] = await context.createCallback(inRound("ask-manager", round), {
      ...config.manager,
      serdes: approvalAnswerSerdes,
    });
    const notify = inRound("notify-manager", round);
    await context.step(
      notify,
      async ({ logger }) => {
        askAgainLog(logger, refused);
        await deps.approvals.askForDecision({
          kind: round === 1 ? "approval" : "again",
          approver: manager,
          callbackId,
          acceptsHeartbeat: config.manager.heartbeatTimeout !== undefined,
          request,
          ...(round === 1 ? {} : { previousAnswer: refused[refused.length - 1]!.reason }),
          idempotencyKey: linkKey(request.requestId, notify, callbackId),
        });
        // The callback id is a bearer token: log a fingerprint only.
        logger.info("Asked the manager", { callback: redactCallbackId(callbackId) });
      },
      { retryStrategy: retryTransient },
    );
    const verdict = await verdictOf(managerAnswer, manager);
    if (verdict.kind !== "refused") return { verdict, refused, failedReminders: [] };
    refused.push(refusal("manager", round, verdict));
  }
  return { verdict: noDecision(config), refused, failedReminders: [] };
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
): Promise<StageResult> {
  const director = request.approvers.director;
  const refused: RefusedAnswer[] = [];
  const failedReminders: FailedReminder[] = [];
  for (let round = 1; round <= config.askRounds; round++) {
    // The callback's timeout is the hard deadline; after it the answer rejects with CallbackTimeoutError.
    // No heartbeatTimeout: the director's messages offer no "need more time" link.
    const [answer, callbackId] = await context.createCallback(inRound("director-approval", round), {
      timeout: config.director.timeout,
      serdes: approvalAnswerSerdes,
    });
    const notify = inRound("notify-director", round);
    await context.step(
      notify,
      async ({ logger }) => {
        if (round === 1)
          logger.info("Manager did not decide in time; escalating", { requestId: request.requestId });
        askAgainLog(logger, refused);
        await deps.approvals.askForDecision({
          kind: round === 1 ? "escalation" : "again",
          approver: director,
          callbackId,
          acceptsHeartbeat: false,
          request,
          ...(round === 1 ? {} : { previousAnswer: refused[refused.length - 1]!.reason }),
          idempotencyKey: linkKey(request.requestId, notify, callbackId),
        });
      },
      { retryStrategy: retryTransient },
    );

    // The loop bound and the names come from a fixed config and turn number: identical on every replay.
    for (let turn = 1; turn <= config.director.maxReminders; turn++) {
      const reminderDue = context.wait(
        inRound(`wait-before-reminder-${turn}`, round),
        config.director.remindEvery,
      );
      // Resolves with the answer, or undefined when the wait wins. It rejects when the callback fails or times
      // out, wrapped in a PromiseCombinatorError: awaiting `answer` below gives back the callback's own error.
      const first = await context.promise
        .race<CheckedAnswer | void>(inRound(`director-answer-or-reminder-${turn}`, round), [
          answer,
          reminderDue,
        ])
        .catch(() => "settled" as const);
      if (first !== undefined) break;
      const remind = inRound(`remind-director-${turn}`, round);
      // A reminder is courtesy, not the decision: the director already has the link. A reminder that cannot be
      // delivered (after its retries) is recorded and logged, and the request waits on; the step's failure is
      // checkpointed, so a replay takes the same branch without sending again.
      await context
        .step(
          remind,
          () =>
            deps.approvals.askForDecision({
              kind: "reminder",
              reminderNumber: turn,
              approver: director,
              callbackId,
              acceptsHeartbeat: false,
              request,
              idempotencyKey: linkKey(request.requestId, remind, callbackId),
            }),
          { retryStrategy: retryTransient },
        )
        .catch((error: unknown) => {
          const failed = { operation: remind, error: (error as Error).message };
          context.logger.warn("Reminder not delivered; still waiting for the director", failed);
          failedReminders.push(failed);
        });
    }
    const verdict = await verdictOf(answer, director);
    if (verdict.kind !== "refused") return { verdict, refused, failedReminders };
    refused.push(refusal("director", round, verdict));
  }
  return { verdict: noDecision(config), refused, failedReminders };
}

function noDecision(config: WorkflowConfig): StageResult["verdict"] {
  return { kind: "no-answer", detail: `${config.askRounds} answers refused, none from the person asked` };
}

/** A refused answer is kept for the result, and logged by the step that asks again (askAgainLog); it decides nothing. */
function refusal(
  approver: RefusedAnswer["approver"],
  round: number,
  verdict: Extract<Verdict, { kind: "refused" }>,
): RefusedAnswer {
  return { approver, round, reason: verdict.reason, detail: verdict.detail };
}

/**
 * Logged inside the step that sends the new link, with the step's logger, not right after the refused answer
 * with context.logger: an answer to a callback created before the function suspended is read in replay mode
 * (SDK 2.4 leaves replay mode only when the next operation starts), so a context.logger line there is dropped.
 */
function askAgainLog(logger: { warn(message: string, data: unknown): void }, refused: RefusedAnswer[]) {
  const previous = refused[refused.length - 1];
  if (previous) logger.warn("Refused an answer: not a decision; asking again with a new link", previous);
}

interface JobProgress {
  jobId: string;
  state: JobState | "UNKNOWN";
  checks: number;
  trackingNumber?: string;
  detail?: string;
  /** The last check could not be made for a setting only a person can fix (a secret, a URL): checks stop. */
  settingBroken?: true;
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
): Promise<JobProgress & { trackingNumber: string }> {
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
      // A flaky status API counts as "not known yet": the next check tries again. A setting that cannot be
      // used (a secret missing or unreadable) will not get better by itself: the polling stops and says so.
      try {
        const status = await deps.supplier.jobStatus({ jobId: previous.jobId });
        return { ...previous, ...status, checks: attempt };
      } catch (error) {
        const detail = (error as Error).message;
        const broken = notSentForGood(error) ? { settingBroken: true as const } : {};
        return { ...previous, state: "UNKNOWN", detail, checks: attempt, ...broken };
      }
    },
    {
      initialState: { jobId, state: "QUEUED", checks: 0 },
      // Stop at the bound (the result is then not final), otherwise back off exponentially.
      waitStrategy: (progress, attempt) =>
        attempt >= maxChecks || progress.settingBroken
          ? { shouldContinue: false }
          : backoff(progress, attempt),
    },
  );
  if (job.state === "FAILED") {
    throw new FulfilmentFailedError(`Supplier job ${jobId} failed: ${job.detail ?? "no detail given"}`);
  }
  if (job.state !== "SHIPPED" || job.trackingNumber === undefined) {
    const stopped = job.settingBroken ? ", checks stopped until a setting is fixed" : "";
    throw new FulfilmentNotFinishedError(
      `Supplier job ${jobId} was not finished after ${job.checks} status checks (last state ${job.state}${job.detail ? `: ${job.detail}` : ""}${stopped}); ask the supplier, then ship or cancel by hand`,
    );
  }
  return { ...job, trackingNumber: job.trackingNumber };
}
