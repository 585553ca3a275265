import { createHandler } from "./index";
import { TransientServiceError, type DecisionRequest, type JobStatus, type PurchaseDeps } from "./deps";
import type { PurchaseRequest } from "./input";
import { defaultConfig, type WorkflowConfig } from "./workflow";

/**
 * The simulated outside world, for `pnpm demo wait-callback` and the tests: an in-memory chat, purchasing system
 * and supplier that record every call. A repeated idempotency key gets the first answer again, as a real
 * service must give. The approvers themselves are not here: the demo's actors and the tests play them by
 * completing the callbacks.
 */
export interface WorldOptions {
  /** The status check on which the supplier reports SHIPPED (default 3). */
  shipsOnCheck?: number;
  /** The supplier reports FAILED on this status check instead. */
  failsOnCheck?: number;
  /** The job stays IN_PROGRESS forever. */
  neverFinishes?: boolean;
  /** The first this-many status checks throw, as a flaky status API would. */
  flakyStatusChecks?: number;
  /** The chat webhook fails transiently on its first this-many calls. */
  chatOutages?: number;
  /** These reminders (by number) can never be delivered: the webhook answers 503 to every attempt. */
  undeliverableReminders?: number[];
  /**
   * The chat fails a message: the error is thrown to the caller, after delivering the message when `delivered`
   * is set (a webhook that posted it, then answered 503). `attempt` counts sends under the message's key.
   */
  chatFailure?: (
    message: DecisionRequest,
    attempt: number,
  ) => { error: Error; delivered?: boolean } | undefined;
  /** These services act, then lose their reply this many times: the caller sees `error` (a 504 by default). */
  lostReplies?: Partial<
    Record<"purchasing.submit" | "purchasing.recordDecision" | "supplier.placeOrder", LostReplies>
  >;
  /** The supplier's answers to status checks, in order, the last one repeating (instead of shipsOnCheck etc.). */
  jobStatuses?: JobStatus[];
}

export interface LostReplies {
  times: number;
  error?: () => Error;
}

export type Service =
  "chat" | "purchasing.submit" | "purchasing.recordDecision" | "supplier.placeOrder" | "supplier.jobStatus";

export interface Call {
  service: Service;
  key: string;
  /** ok: acted and answered; lost: acted, and the reply was lost; transient, failed: did not act. */
  outcome: "ok" | "transient" | "failed" | "lost";
}

export interface SentMessage {
  kind: DecisionRequest["kind"];
  to: string;
  callbackId: string;
  /** The message offered a "need more time" (heartbeat) link. */
  moreTime: boolean;
  reminderNumber?: number;
  previousAnswer?: DecisionRequest["previousAnswer"];
}

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const messages: SentMessage[] = [];
  const decisions: Array<{ decision: string; detail: string }> = [];
  /** What purchasing holds and the supplier was ordered: one entry per idempotency key, as the providers keep. */
  const submissions: Array<{ requestId: string; amountCents: number }> = [];
  const orders: Array<{ requestId: string; amountCents: number; quantity: number }> = [];
  const answered = new Map<string, unknown>();
  const sends = new Map<string, number>();
  const lost = new Map(Object.entries(options.lostReplies ?? {}).map(([service, l]) => [service, { ...l }]));
  let chatOutages = options.chatOutages ?? 0;
  let statusChecks = 0;

  const once = <T>(service: Service, key: string, answer: () => T): T => {
    calls.push({ service, key, outcome: "ok" });
    if (!answered.has(key)) answered.set(key, answer());
    const replies = lost.get(service);
    if (replies && replies.times > 0) {
      replies.times -= 1;
      calls[calls.length - 1]!.outcome = "lost";
      throw replies.error?.() ?? new TransientServiceError(`${service} answered 504`, 504);
    }
    return answered.get(key) as T;
  };

  const deps: PurchaseDeps = {
    approvals: {
      askForDecision: async (message) => {
        if (
          message.kind === "reminder" &&
          options.undeliverableReminders?.includes(message.reminderNumber ?? 0)
        ) {
          calls.push({ service: "chat", key: message.idempotencyKey, outcome: "transient" });
          throw new TransientServiceError("chat webhook answered 503", 503);
        }
        if (chatOutages > 0) {
          chatOutages -= 1;
          calls.push({ service: "chat", key: message.idempotencyKey, outcome: "transient" });
          throw new TransientServiceError("chat webhook answered 503", 503);
        }
        const attempt = (sends.get(message.idempotencyKey) ?? 0) + 1;
        sends.set(message.idempotencyKey, attempt);
        const failure = options.chatFailure?.(message, attempt);
        if (failure && !failure.delivered) {
          calls.push({ service: "chat", key: message.idempotencyKey, outcome: "failed" });
          throw failure.error;
        }
        once("chat", message.idempotencyKey, () =>
          messages.push({
            kind: message.kind,
            to: message.approver.id,
            callbackId: message.callbackId,
            moreTime: message.acceptsHeartbeat,
            ...(message.reminderNumber === undefined ? {} : { reminderNumber: message.reminderNumber }),
            ...(message.previousAnswer === undefined ? {} : { previousAnswer: message.previousAnswer }),
          }),
        );
        if (failure) {
          calls[calls.length - 1]!.outcome = "lost";
          throw failure.error;
        }
      },
    },
    purchasing: {
      submit: async ({ request, idempotencyKey }) =>
        once("purchasing.submit", idempotencyKey, () => {
          submissions.push({ requestId: request.requestId, amountCents: request.amountCents });
          return { reference: `PO-REQ-${request.requestId}` };
        }),
      recordDecision: async ({ decision, detail, idempotencyKey }) => {
        once("purchasing.recordDecision", idempotencyKey, () => decisions.push({ decision, detail }));
      },
    },
    supplier: {
      placeOrder: async ({ requestId, amountCents, quantity, idempotencyKey }) =>
        once("supplier.placeOrder", idempotencyKey, () => {
          orders.push({ requestId, amountCents, quantity });
          return { jobId: `job-${requestId}` };
        }),
      jobStatus: async ({ jobId }) => {
        statusChecks += 1;
        calls.push({ service: "supplier.jobStatus", key: jobId, outcome: "ok" });
        if (statusChecks <= (options.flakyStatusChecks ?? 0)) {
          calls[calls.length - 1]!.outcome = "transient";
          throw new TransientServiceError("supplier status API timed out");
        }
        const scripted = options.jobStatuses;
        if (scripted && scripted.length > 0) return scripted[Math.min(statusChecks, scripted.length) - 1]!;
        return jobStatusOnCheck(statusChecks, jobId, options);
      },
    },
  };

  /** How many times a service was called, retries included. */
  const callsTo = (service: Service) => calls.filter((call) => call.service === service).length;
  /** The idempotency keys a service was called with, retries included, in order. */
  const keysSentTo = (service: Service) =>
    calls.filter((call) => call.service === service).map((call) => call.key);
  return { deps, calls, messages, decisions, submissions, orders, callsTo, keysSentTo };
}

function jobStatusOnCheck(check: number, jobId: string, options: WorldOptions): JobStatus {
  if (options.failsOnCheck !== undefined && check >= options.failsOnCheck) {
    return { state: "FAILED", detail: "out of stock at the supplier" };
  }
  if (!options.neverFinishes && check >= (options.shipsOnCheck ?? 3)) {
    return { state: "SHIPPED", trackingNumber: `TRK-${jobId}` };
  }
  return { state: check === 1 ? "QUEUED" : "IN_PROGRESS" };
}

export const samplePurchase: PurchaseRequest = {
  requestId: "PR-2042",
  requester: { id: "u-ada", name: "Ada", email: "ada@example.com" },
  item: { description: "Standing desk", supplier: "acme-office", quantity: 2 },
  amountCents: 129_900,
  currency: "EUR",
  approvers: {
    manager: { id: "u-dana", name: "Dana" },
    director: { id: "u-sam", name: "Sam" },
  },
};

/**
 * The demo keeps the real durations except the callback timeouts: time skipping does not skip those (they run
 * on real time in the local runner), so the manager's heartbeat timeout is one second here instead of two days.
 */
export const demoConfig: WorkflowConfig = {
  ...defaultConfig,
  manager: { timeout: { seconds: 4 }, heartbeatTimeout: { seconds: 1 } },
  director: { ...defaultConfig.director, timeout: { seconds: 4 } },
};

/**
 * What `pnpm demo wait-callback` runs: Dana, the manager, presses "need more time" (a heartbeat) and then goes
 * quiet, so her callback times out on the heartbeat and the request escalates to Sam. Sam is reminded twice by
 * the durable reminder loop. Then Ada, the requester, who got hold of Sam's link, approves her own request:
 * the answer is refused (she was not asked), nothing is ordered, and Sam gets a new link, with which he
 * approves. The supplier ships on the third check.
 */
export const demo = {
  title:
    "Purchase approval: heartbeat, timeout, escalation with reminders, a forged approval refused, approval, polling the supplier",
  event: samplePurchase,
  createHandler: () => createHandler(simulatedWorld().deps, demoConfig),
  actors: [
    {
      role: "manager (Dana)",
      operation: "ask-manager",
      waitFor: "STARTED" as const,
      afterOperation: "notify-manager",
      replies: [{ heartbeat: true as const }],
    },
    {
      role: "requester (Ada), with Sam's forwarded link",
      operation: "director-approval",
      waitFor: "STARTED" as const,
      afterOperation: "remind-director-2",
      replies: [{ succeed: { decision: "approve", decidedBy: "u-ada", comment: "Approving my own desk" } }],
    },
    {
      role: "director (Sam)",
      operation: "director-approval-round-2",
      waitFor: "STARTED" as const,
      afterOperation: "notify-director-round-2",
      replies: [{ succeed: { decision: "approve", decidedBy: "u-sam", comment: "Fine, ergonomics budget" } }],
    },
  ],
};
