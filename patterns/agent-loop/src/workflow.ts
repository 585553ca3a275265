import {
  CallbackError,
  CallbackTimeoutError,
  DurableOperationError,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { explainAlreadyDenied, explainNoRefund, readApprovalAnswer } from "./approval-answer";
import { HttpSettingError, SecretSettingError, TransientServiceError, type SupportDeps } from "./deps";
import { parseSupportRequest, type SupportRequest } from "./input";
import { checkGuards } from "./loop-guards";
import {
  addUsage,
  toolUsesOf,
  type ChatMessage,
  type ModelResponse,
  type TokenUsage,
  type ToolResultBlock,
  type ToolUseBlock,
} from "./model";
import { readModelReply } from "./model-reply";
import { refundTargetProblem, type RefundDecision } from "./refund-decision";
import { retryTransientModelErrors, retryTransientServiceErrors } from "./retry-policies";
import {
  classifyFailure,
  failureForModel,
  redact,
  refundInDoubtProblem,
  settingFailure,
} from "./tool-failure";
import {
  checkRefundPolicy,
  lookupOrder,
  parseToolCall,
  payRefund,
  toolError,
  toolSpecs,
  toolStepName,
  toolSuccess,
  verifyRefund,
  type ToolCall,
} from "./tools";

export interface AgentConfig {
  /** Model calls allowed per conversation. */
  maxTurns: number;
  /** Input plus output tokens, as the model reports them, allowed per conversation. */
  tokenBudget: number;
  maxOutputTokens: number;
  /** How long a person has to approve a refund. Tests shorten it to a second or two. */
  approvalTimeout: Duration;
  /** Who approves refunds: the approval request goes to them, and only their answer is a decision. */
  refundApprover: string;
}

export const defaultConfig: AgentConfig = {
  maxTurns: 8,
  tokenBudget: 50_000,
  maxOutputTokens: 1024,
  approvalTimeout: { days: 2 },
  refundApprover: "support-lead",
};

export const SYSTEM_PROMPT = [
  "You are the customer-support agent of an online shop. Be brief and friendly.",
  "Use lookup_order before talking about an order, check_refund_policy before offering money back,",
  "and issue_refund only for an amount the policy allows. A person approves every refund.",
].join(" ");

export interface ToolCallSummary {
  turn: number;
  tool: string;
  status: "success" | "error" | "not-run";
}

interface Outcome {
  turns: number;
  usage: TokenUsage;
  toolCalls: ToolCallSummary[];
  /** An approved refund whose payment stayed in doubt: people were alerted and must settle it. */
  refundInDoubt?: RefundInDoubt;
}
export type AgentResult =
  | (Outcome & { status: "ANSWERED"; answer: string })
  | (Outcome & {
      status: "STOPPED";
      reason: "max-turns" | "token-budget" | "model-stopped" | "unusable-reply";
      explanation: string;
      partialAnswer: string;
    });

export interface RefundInDoubt {
  orderId: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
}

/** A refund payment stayed in doubt and the alert to people failed as well: the execution fails, loudly. */
export class RefundInDoubtError extends Error {
  override readonly name = "RefundInDoubtError";
}

/**
 * An approved refund was not paid: a setting (the back office's URL, its token's secret) could not be used on
 * the payment's first attempt, before anything was sent. Not done, and not in doubt: the execution fails naming
 * the setting and the refund, so a person fixes it and asks again.
 */
export class RefundNotSentError extends Error {
  override readonly name = "RefundNotSentError";
}

/**
 * What the refund calls of this conversation decided so far. Rebuilt on every replay from the refund
 * tools' checkpointed outcomes, never stored on its own and never assigned inside a step.
 */
interface RefundsSoFar {
  /** The approver's "no", if they said it: a denied refund is not asked again in this execution. */
  denial?: string;
  inDoubt?: RefundInDoubt;
}

/** What one issue_refund call checkpoints: the model's tool result, and what the workflow must remember. */
interface RefundToolOutcome {
  result: ToolResultBlock;
  denial?: string;
  inDoubt?: RefundInDoubt & { alerted: boolean };
  /** The approved payment was never sent (a setting): why, naming the setting. */
  notSent?: RefundInDoubt & { problem: string };
  /**
   * A setting failed a call before the payment (verify, the approval request): the run fails with it. Kept in
   * the outcome because a child context's failure does not keep its cause's name across a replay.
   */
  settingError?: { name: string; message: string };
}

/**
 * A customer-support agent: the model reads the question, calls tools (look up an order, check the
 * refund policy, issue a refund that a person approves) and answers.
 *
 * The handler body re-runs from the top on every invocation. Each model turn and each tool call is a
 * checkpointed operation, so a replay walks the same loop again, gets every earlier model reply and
 * tool result back from its checkpoint, and rebuilds the same conversation without calling anything.
 */
export async function runSupportAgent(
  event: unknown,
  context: DurableContext,
  deps: SupportDeps,
  config: AgentConfig = defaultConfig,
): Promise<AgentResult> {
  // Pure: an empty or oversized question fails here, before any model call, and is never retried.
  const request = parseSupportRequest(event);
  context.logger.info("Support request", { customerId: request.customerId });

  // The conversation is never stored as a whole, and no step function assigns to it. It is rebuilt
  // on every replay from the step results: each model turn returns the assistant message, each tool
  // step returns its result.
  let conversation: ChatMessage[] = [{ role: "user", content: [{ type: "text", text: request.question }] }];
  let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const refunds: RefundsSoFar = {};

  for (let turn = 1; ; turn += 1) {
    const messages = conversation;
    // One model call per step, named by its turn. Once it succeeds the reply is checkpointed: a replay
    // gets it back without calling (or paying for) the model again, and the model cannot change its
    // mind about which tools it asked for. Throttling is retried with backoff; a bad request is not.
    const reply: ModelResponse = await context.step(
      `model-turn-${turn}`,
      () =>
        deps.model.converse({
          system: SYSTEM_PROMPT,
          messages,
          tools: toolSpecs,
          maxOutputTokens: config.maxOutputTokens,
        }),
      { retryStrategy: retryTransientModelErrors },
    );
    conversation = [...conversation, reply.message];
    usage = addUsage(usage, reply.usage);

    // The reply is untrusted input: an empty or oversized answer, or tool calls that cannot be paired
    // with results, end the run as STOPPED (src/model-reply.ts), never as ANSWERED and never as a crash.
    const reading = readModelReply(reply);
    if (reading.kind === "answer") {
      return { status: "ANSWERED", answer: reading.text, ...outcome(conversation, usage, turn, refunds) };
    }
    if (reading.kind === "stopped") {
      const { kind: _kind, ...stop } = reading;
      return { status: "STOPPED", ...stop, ...outcome(conversation, usage, turn, refunds) };
    }

    // Turn and token limits (src/loop-guards.ts), checked before running what the model asked for, so
    // a stop never leaves a tool half done.
    const stop = checkGuards(turn, usage, config, reply.message);
    if (stop) return { ...stop, ...outcome(conversation, usage, turn, refunds) };

    const results = await runToolCalls(context, deps, request, config, reading.uses, turn, refunds);
    conversation = [...conversation, { role: "user", content: results }];
  }
}

/** The model's tool calls, one after the other, each as its own named operation. */
async function runToolCalls(
  context: DurableContext,
  deps: SupportDeps,
  request: SupportRequest,
  config: AgentConfig,
  toolUses: ToolUseBlock[],
  turn: number,
  refunds: RefundsSoFar,
): Promise<ToolResultBlock[]> {
  const results: ToolResultBlock[] = [];
  for (const [index, use] of toolUses.entries()) {
    const occurrence = toolUses.slice(0, index + 1).filter((other) => other.name === use.name).length;
    // Invalid arguments never reach a step: the model gets a tool error and another turn to fix them.
    const parsed = parseToolCall(use);
    const name = toolStepName(use.name, turn, occurrence);
    results.push(
      parsed.ok ? await runTool(context, deps, request, config, parsed.call, name, refunds) : parsed.error,
    );
  }
  return results;
}

async function runTool(
  context: DurableContext,
  deps: SupportDeps,
  request: SupportRequest,
  config: AgentConfig,
  call: ToolCall,
  name: string,
  refunds: RefundsSoFar,
): Promise<ToolResultBlock> {
  const retryStrategy = retryTransientServiceErrors;
  let refund: RefundToolOutcome;
  try {
    switch (call.name) {
      case "lookup_order":
        return await context.step(name, () => lookupOrder(deps, request.customerId, call), { retryStrategy });
      case "check_refund_policy":
        return await context.step(name, () => checkRefundPolicy(deps, request.customerId, call), {
          retryStrategy,
        });
      case "issue_refund":
        // Pure, before any operation: once the person asked said no, this conversation does not ask them
        // again, however often the model (or a customer talking through it) tries.
        if (refunds.denial) return toolError(call.toolUseId, explainAlreadyDenied(refunds.denial));
        // This tool needs durable operations of its own (a wait for a person), which a step cannot
        // contain: a child context groups them, and checkpoints the tool's outcome as one unit.
        refund = await context.runInChildContext(name, (ctx) =>
          issueRefund(ctx, deps, request, config, call),
        );
        break;
    }
  } catch (error) {
    // A tool that still fails after its retries becomes a tool error: the model explains, the run goes
    // on. The model gets a fixed sentence for the kind of failure (src/tool-failure.ts), never the
    // error's own text; operators get it redacted and bounded.
    if (!(error instanceof DurableOperationError)) throw error;
    const kind = classifyFailure(error);
    // A setting only a person can fix fails every back-office call alike: the run fails, naming it.
    if (kind === "misconfigured") throw settingFailure(error);
    context.logger.warn("Tool failed", {
      tool: call.name,
      operation: name,
      kind,
      error: redact(error.message),
    });
    return toolError(call.toolUseId, failureForModel(call.name, kind));
  }
  // What the workflow must remember from the refund, taken from its checkpointed outcome.
  if (refund.settingError) {
    const failure = new Error(refund.settingError.message);
    failure.name = refund.settingError.name;
    throw failure;
  }
  if (refund.notSent) {
    const { problem, ...notSent } = refund.notSent;
    throw new RefundNotSentError(
      `The approved refund ${notSent.idempotencyKey} (${notSent.amountCents} ${notSent.currency}) was not paid: nothing was sent to the payment provider (${problem}). Fix the setting, then ask again.`,
    );
  }
  if (refund.denial) refunds.denial = refund.denial;
  if (refund.inDoubt) {
    const { alerted, ...inDoubt } = refund.inDoubt;
    refunds.inDoubt = inDoubt;
    // Nothing is lost silently: with no alert delivered, the execution's own error is what people see.
    if (!alerted) {
      throw new RefundInDoubtError(
        `The approved refund ${inDoubt.idempotencyKey} (${inDoubt.amountCents} ${inDoubt.currency}) is in doubt and the alert to people failed too: look it up at the provider by its key.`,
      );
    }
  }
  return refund.result;
}

/**
 * The refund: verify, wait for a person's approval (for days if needed, at no compute cost), then pay.
 * The money guard is code, not the model: the order is the input's, the amount is what the policy
 * allows minus what was already refunded, and only the person asked can say yes.
 */
async function issueRefund(
  context: DurableContext,
  deps: SupportDeps,
  request: SupportRequest,
  config: AgentConfig,
  call: Extract<ToolCall, { name: "issue_refund" }>,
): Promise<RefundToolOutcome> {
  const answerWith = (text: string) => ({ result: toolError(call.toolUseId, text) });
  const failedOn = (error: Error): RefundToolOutcome => {
    const { name, message } = settingFailure(error);
    return { ...answerWith(failureForModel(call.name, "misconfigured")), settingError: { name, message } };
  };
  // Pure, before any operation: the model may name any order; this execution refunds only its own.
  const wrongOrder = refundTargetProblem(request.orderId, call.args);
  if (wrongOrder) return answerWith(wrongOrder);
  const { orderId } = request;

  // The policy, the order and the refunds already paid, read fresh and decided in code
  // (src/refund-decision.ts), which checks the back office's facts itself. The decision is
  // checkpointed: after the approval, days later, the payment uses exactly the amount and the key
  // that the person saw verified.
  let verified: RefundDecision;
  try {
    verified = await context.step(
      `verify-refund-${orderId}`,
      () => verifyRefund(deps, request.customerId, call),
      { retryStrategy: retryTransientServiceErrors },
    );
  } catch (error) {
    // Classified here, where the step's error still names its cause (src/tool-failure.ts).
    if (!(error instanceof DurableOperationError)) throw error;
    if (classifyFailure(error) === "misconfigured") return failedOn(error);
    context.logger.warn("Refund verification failed", { orderId, error: redact(error.message) });
    return answerWith(failureForModel(call.name, classifyFailure(error)));
  }
  if (!verified.allowed) return answerWith(verified.problem);

  // The callback first, then the request that carries its id, in a step of its own. Not
  // waitForCallback: its context checkpoints the callback's failure as its own error, and a failure
  // too large for a checkpoint (anyone holding the id can send one) would crash the execution. Here
  // the failure is read and bounded below, and only the bounded text is checkpointed.
  const [approval, callbackId] = await context.createCallback(`approve-refund-${orderId}`, {
    timeout: config.approvalTimeout,
  });
  try {
    await context.step(
      `request-approval-${orderId}`,
      (step) => requestApproval(deps, request, config, call, verified, callbackId, step.logger),
      { retryStrategy: retryTransientServiceErrors },
    );
  } catch (error) {
    if (!(error instanceof DurableOperationError)) throw error;
    if (classifyFailure(error) === "misconfigured") return failedOn(error);
    context.logger.warn("Approval request failed", { orderId, error: redact(error.message, [callbackId]) });
    return answerWith(
      "The approval request could not be sent, so nothing was paid. A person will follow up.",
    );
  }

  // The function suspends until a person completes the callback, or the timeout passes.
  let answer: unknown;
  try {
    answer = await approval;
  } catch (error) {
    if (error instanceof CallbackTimeoutError) {
      return answerWith("No one approved the refund in time, so it was not issued. A person will follow up.");
    }
    if (error instanceof CallbackError) {
      // The failure's message is whatever the sender wrote: bounded before the model reads it.
      return answerWith(`The refund was rejected: ${error.message.slice(0, 300)}`);
    }
    throw error;
  }
  // Strict and pure (src/approval-answer.ts): extra fields, an empty answer or another person's answer
  // pay nothing.
  const decision = readApprovalAnswer(answer, config.refundApprover);
  context.logger.info("Refund approval answered", { orderId, outcome: decision.kind });
  // A "no" is remembered for the rest of the execution (runTool): the person is not asked again.
  if (decision.kind === "denied") {
    return { ...answerWith(explainNoRefund(decision)), denial: explainNoRefund(decision) };
  }
  if (decision.kind !== "approved") return answerWith(explainNoRefund(decision));

  // Days may have passed: the step checks the refunds paid again before paying, and once more after a
  // failed attempt. The key is the order's and the refund's position in its ledger (not the tool
  // call's), so the provider pays at most one refund per position, whichever execution asks.
  let payment: Awaited<ReturnType<typeof payRefund>> | { paid: false; notSent: string };
  try {
    payment = await context.step(
      `refund-payment-${orderId}`,
      async ({ attempt }) => {
        try {
          return await payRefund(deps, verified);
        } catch (error) {
          // A setting that cannot be used fails before anything is sent. On the first attempt no payment
          // ever left, which only this attempt knows: the step's result says so (not done). On a later one an
          // earlier attempt may have paid and lost its answer: it fails, in doubt, and people are alerted.
          const settingBroken =
            (error instanceof SecretSettingError && !error.retryable) || error instanceof HttpSettingError;
          if (attempt === 1 && settingBroken) {
            return { paid: false as const, notSent: error.message };
          }
          throw error;
        }
      },
      { retryStrategy: retryTransientServiceErrors },
    );
  } catch (error) {
    // Still in doubt after the retries and a look at the ledger: never reported to the customer as
    // paid, and people are told (side work: its own failure is reported by the caller, loudly).
    if (!(error instanceof DurableOperationError)) throw error;
    return alertRefundInDoubt(context, deps, verified, call.toolUseId, error);
  }
  if ("notSent" in payment) {
    const { amountCents, currency, idempotencyKey } = verified;
    context.logger.error("Approved refund not paid: a setting must be fixed", { orderId, idempotencyKey });
    return {
      ...answerWith(
        "The approved refund could not be paid yet. Do not tell the customer it was paid; a person will follow up.",
      ),
      notSent: { orderId, amountCents, currency, idempotencyKey, problem: payment.notSent },
    };
  }
  if (!payment.paid) return answerWith(payment.problem);
  return {
    result: toolSuccess(call.toolUseId, {
      refundId: payment.refundId,
      orderId,
      amountCents: verified.amountCents,
      currency: verified.currency,
      approvedBy: decision.approver,
    }),
  };
}

/**
 * The approval request, sent inside its step. The callback id is the one secret of the request: it goes
 * to the approver and nowhere else, so an error from the approval service (which may echo the request)
 * is rethrown with the id cut out before the step checkpoints it, keeping its class for the retry policy.
 */
async function requestApproval(
  deps: SupportDeps,
  request: SupportRequest,
  config: AgentConfig,
  call: Extract<ToolCall, { name: "issue_refund" }>,
  verified: Extract<RefundDecision, { allowed: true }>,
  callbackId: string,
  logger: DurableContext["logger"],
): Promise<void> {
  // Log what was asked, never the callback id: whoever reads it can answer for the approver.
  logger.info("Asking for refund approval", { orderId: verified.orderId, approver: config.refundApprover });
  try {
    await deps.approvals.requestApproval({
      callbackId,
      approver: config.refundApprover,
      orderId: verified.orderId,
      customerId: request.customerId,
      amountCents: verified.amountCents,
      currency: verified.currency,
      reason: verified.reason,
      policy: verified.policy,
      priorRefunds: verified.priorRefunds,
      customerWrote: request.question,
      writtenByModel: { noteForApprover: call.args.noteForApprover },
    });
  } catch (error) {
    // Thrown before anything was sent, and their messages name a setting, never a value or the request.
    if (error instanceof SecretSettingError || error instanceof HttpSettingError) throw error;
    const message = `The approval service failed: ${redact((error as Error)?.message, [callbackId])}`;
    if (error instanceof TransientServiceError) throw new TransientServiceError(message, error.status);
    // No `cause` on purpose: the original error is exactly what must not travel further.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(message);
  }
}

/** A refund payment in doubt: people are alerted, with the key to look it up by. Best effort. */
async function alertRefundInDoubt(
  context: DurableContext,
  deps: SupportDeps,
  verified: Extract<RefundDecision, { allowed: true }>,
  toolUseId: string,
  error: DurableOperationError,
): Promise<RefundToolOutcome> {
  const { orderId, amountCents, currency, idempotencyKey } = verified;
  // The payment's outcome (in doubt: it may have been paid), never the last failure's kind (src/tool-failure.ts).
  const problem = refundInDoubtProblem(idempotencyKey, error);
  const alerted = await context
    .step(
      `alert-refund-in-doubt-${orderId}`,
      () => deps.alerts.refundInDoubt({ orderId, amountCents, currency, idempotencyKey, problem }),
      { retryStrategy: retryTransientServiceErrors },
    )
    .then(
      () => true,
      (alertError: unknown) => {
        context.logger.error("The refund-in-doubt alert failed", {
          orderId,
          idempotencyKey,
          alertError: redact((alertError as Error)?.message),
        });
        return false;
      },
    );
  return {
    result: toolError(
      toolUseId,
      `The approved refund was not confirmed by the payment provider. Do not tell the customer it was paid; a person will check ${orderId}.`,
    ),
    inDoubt: { orderId, amountCents, currency, idempotencyKey, alerted },
  };
}

function outcome(
  conversation: ChatMessage[],
  usage: TokenUsage,
  turns: number,
  refunds: RefundsSoFar,
): Outcome {
  return {
    turns,
    usage,
    toolCalls: summarizeToolCalls(conversation),
    ...(refunds.inDoubt ? { refundInDoubt: refunds.inDoubt } : {}),
  };
}

/** Which tools ran in which turn, derived from the conversation (so it is the same on every replay). */
export function summarizeToolCalls(conversation: ChatMessage[]): ToolCallSummary[] {
  const statuses = new Map(
    conversation.flatMap((message) =>
      message.content.flatMap((block) =>
        block.type === "toolResult" ? [[block.toolUseId, block.status] as const] : [],
      ),
    ),
  );
  return conversation
    .filter((message) => message.role === "assistant")
    .flatMap((message, index) =>
      toolUsesOf(message).map((use) => ({
        turn: index + 1,
        tool: use.name,
        status: statuses.get(use.toolUseId) ?? "not-run",
      })),
    );
}
