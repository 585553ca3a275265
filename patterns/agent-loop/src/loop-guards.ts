import { textOf, toolUsesOf, totalTokens, type ChatMessage, type TokenUsage } from "./model";

/** The limits of one conversation: how many model turns, how many tokens. */
export interface LoopLimits {
  /** Model calls allowed per conversation. */
  maxTurns: number;
  /** Input plus output tokens, as the model reports them, allowed per conversation. */
  tokenBudget: number;
}

export interface LoopStop {
  status: "STOPPED";
  reason: "max-turns" | "token-budget";
  explanation: string;
  partialAnswer: string;
}

/**
 * Whether the loop stops before running what the model asked for in this reply. Checked before the tools
 * run, so a stop never leaves a tool half done. Pure, on checkpointed replies: the same on every replay.
 */
export function checkGuards(
  turn: number,
  usage: TokenUsage,
  limits: LoopLimits,
  reply: ChatMessage,
): LoopStop | undefined {
  const wanted = toolUsesOf(reply)
    .map((use) => use.name)
    .join(", ");
  const partialAnswer = textOf(reply);
  if (turn >= limits.maxTurns) {
    return {
      status: "STOPPED",
      reason: "max-turns",
      explanation: `Stopped after ${turn} model turns (the limit is ${limits.maxTurns}); the model still wanted: ${wanted}. Nothing was run for it.`,
      partialAnswer,
    };
  }
  const spent = totalTokens(usage);
  if (spent >= limits.tokenBudget) {
    return {
      status: "STOPPED",
      reason: "token-budget",
      explanation: `Stopped after ${turn} model turns: ${spent} tokens used of a ${limits.tokenBudget} budget; the model still wanted: ${wanted}. Nothing was run for it.`,
      partialAnswer,
    };
  }
  return undefined;
}
