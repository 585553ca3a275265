import {
  CallbackExternalError,
  CallbackTimeoutError,
  createRetryStrategy,
  DurableOperationError,
  JitterStrategy,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { explainNoRefund, readApprovalAnswer } from "./approval-answer";
import { TransientServiceError, type SupportDeps } from "./deps";
import { parseSupportRequest, type SupportRequest } from "./input";
import {
  addUsage,
  textOf,
  toolUsesOf,
  totalTokens,
  TransientModelError,
  type ChatMessage,
  type ModelResponse,
  type TokenUsage,
  type ToolResultBlock,
  type ToolUseBlock,
} from "./model";
import { readModelReply } from "./model-reply";
import { refundTargetProblem } from "./refund-decision";
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
}
export type AgentResult =
  | (Outcome & { status: "ANSWERED"; answer: string })
  | (Outcome & {
      status: "STOPPED";
      reason: "max-turns" | "token-budget" | "model-stopped" | "unusable-reply";
      explanation: string;
      partialAnswer: string;
    });

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
      return { status: "ANSWERED", answer: reading.text, ...outcome(conversation, usage, turn) };
    }
    if (reading.kind === "stopped") {
      const { kind: _kind, ...stop } = reading;
      return { status: "STOPPED", ...stop, ...outcome(conversation, usage, turn) };
    }

    // Guards, checked before running what the model asked for, so a stop never leaves a tool half done.
    const stop = checkGuards(turn, usage, config, reply.message);
    if (stop) return { ...stop, ...outcome(conversation, usage, turn) };

    const results = await runToolCalls(context, deps, request, config, reading.uses, turn);
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
): Promise<ToolResultBlock[]> {
  const results: ToolResultBlock[] = [];
  for (const [index, use] of toolUses.entries()) {
    const occurrence = toolUses.slice(0, index + 1).filter((other) => other.name === use.name).length;
    // Invalid arguments never reach a step: the model gets a tool error and another turn to fix them.
    const parsed = parseToolCall(use);
    results.push(
      parsed.ok
        ? await runTool(context, deps, request, config, parsed.call, toolStepName(use.name, turn, occurrence))
        : parsed.error,
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
): Promise<ToolResultBlock> {
  const retryStrategy = retryTransientServiceErrors;
  try {
    switch (call.name) {
      case "lookup_order":
        return await context.step(name, () => lookupOrder(deps, request.customerId, call), { retryStrategy });
      case "check_refund_policy":
        return await context.step(name, () => checkRefundPolicy(deps, request.customerId, call), {
          retryStrategy,
        });
      case "issue_refund":
        // This tool needs durable operations of its own (a wait for a person), which a step cannot
        // contain: a child context groups them, and checkpoints the tool's result as one unit.
        return await context.runInChildContext(name, (ctx) => issueRefund(ctx, deps, request, config, call));
    }
  } catch (error) {
    // A tool that still fails after its retries becomes a tool error: the model explains, the run goes on.
    if (error instanceof DurableOperationError)
      return toolError(call.toolUseId, `${call.name} failed: ${error.message}`);
    throw error;
  }
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
): Promise<ToolResultBlock> {
  // Pure, before any operation: the model may name any order; this execution refunds only its own.
  const wrongOrder = refundTargetProblem(request.orderId, call.args);
  if (wrongOrder) return toolError(call.toolUseId, wrongOrder);
  const { orderId } = request;

  // The policy, the order and the refunds already paid, read fresh and decided in code
  // (src/refund-decision.ts). The decision is checkpointed: after the approval, days later, the
  // payment uses exactly the amount and the key that the person saw verified.
  const verified = await context.step(
    `verify-refund-${orderId}`,
    () => verifyRefund(deps, request.customerId, call),
    { retryStrategy: retryTransientServiceErrors },
  );
  if (!verified.allowed) return toolError(call.toolUseId, verified.problem);

  // The submitter sends the approval request with the callback id; the function then suspends until a
  // person completes the callback, or the timeout passes. The approver sees the policy's verdict, the
  // refunds already paid and the customer's own words; the model's text is labelled as the model's.
  let answer: unknown;
  try {
    answer = await context.waitForCallback(
      `approve-refund-${orderId}`,
      (callbackId, { logger }) => {
        // Log what was asked, never the callback id: whoever reads it can answer for the approver.
        logger.info("Asking for refund approval", { orderId, approver: config.refundApprover });
        return deps.approvals.requestApproval({
          callbackId,
          approver: config.refundApprover,
          orderId,
          customerId: request.customerId,
          amountCents: verified.amountCents,
          currency: verified.currency,
          reason: verified.reason,
          policy: verified.policy,
          priorRefunds: verified.priorRefunds,
          customerWrote: request.question,
          writtenByModel: { noteForApprover: call.args.noteForApprover },
        });
      },
      { timeout: config.approvalTimeout },
    );
  } catch (error) {
    if (error instanceof CallbackTimeoutError) {
      return toolError(
        call.toolUseId,
        "No one approved the refund in time, so it was not issued. A person will follow up.",
      );
    }
    if (error instanceof CallbackExternalError) {
      // The failure's message is the approver's text: bounded before the model reads it.
      return toolError(call.toolUseId, `The refund was rejected: ${error.message.slice(0, 300)}`);
    }
    throw error;
  }
  // Strict and pure (src/approval-answer.ts): extra fields, an empty answer or another person's answer
  // pay nothing.
  const decision = readApprovalAnswer(answer, config.refundApprover);
  context.logger.info("Refund approval answered", { orderId, outcome: decision.kind });
  if (decision.kind !== "approved") return toolError(call.toolUseId, explainNoRefund(decision));

  // Days may have passed: the step checks the refunds paid again before paying. The key is per order,
  // refunds already paid and amount (not per tool call), so the provider answers a repeat of this
  // refund, from a retry, another tool call or another execution, with the first refund.
  let payment: Awaited<ReturnType<typeof payRefund>>;
  try {
    payment = await context.step(`refund-payment-${orderId}`, () => payRefund(deps, verified), {
      retryStrategy: retryTransientServiceErrors,
    });
  } catch (error) {
    // Refused, or still in doubt after the retries: never reported to the customer as paid.
    if (!(error instanceof DurableOperationError)) throw error;
    return toolError(
      call.toolUseId,
      `The approved refund was not confirmed by the payment provider (${error.message}). Do not tell the customer it was paid; a person will check ${orderId}.`,
    );
  }
  if (!payment.paid) return toolError(call.toolUseId, payment.problem);
  return toolSuccess(call.toolUseId, {
    refundId: payment.refundId,
    orderId,
    amountCents: verified.amountCents,
    currency: verified.currency,
    approvedBy: decision.approver,
  });
}

function checkGuards(turn: number, usage: TokenUsage, config: AgentConfig, reply: ChatMessage) {
  const wanted = toolUsesOf(reply)
    .map((use) => use.name)
    .join(", ");
  const partialAnswer = textOf(reply);
  if (turn >= config.maxTurns) {
    return {
      status: "STOPPED" as const,
      reason: "max-turns" as const,
      explanation: `Stopped after ${turn} model turns (the limit is ${config.maxTurns}); the model still wanted: ${wanted}. Nothing was run for it.`,
      partialAnswer,
    };
  }
  const spent = totalTokens(usage);
  if (spent >= config.tokenBudget) {
    return {
      status: "STOPPED" as const,
      reason: "token-budget" as const,
      explanation: `Stopped after ${turn} model turns: ${spent} tokens used of a ${config.tokenBudget} budget; the model still wanted: ${wanted}. Nothing was run for it.`,
      partialAnswer,
    };
  }
  return undefined;
}

function outcome(conversation: ChatMessage[], usage: TokenUsage, turns: number): Outcome {
  return { turns, usage, toolCalls: summarizeToolCalls(conversation) };
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

/** Throttled or overloaded model: 2 s, 4 s, 8 s, 16 s (capped at 30 s), with full jitter. */
export const retryTransientModelErrors = createRetryStrategy({
  maxAttempts: 5,
  initialDelay: { seconds: 2 },
  maxDelay: { seconds: 30 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
  retryableErrorTypes: [TransientModelError],
});

/** Back-office outages: 1 s, 2 s, 4 s. Anything else (a bug, a 4xx) fails the tool at once. */
export const retryTransientServiceErrors = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 1 },
  maxDelay: { seconds: 10 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
  retryableErrorTypes: [TransientServiceError],
});
