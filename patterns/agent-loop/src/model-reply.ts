import * as z from "zod/mini";
import { defaultMessages, describeIssues } from "./input";
import { textOf, toolUsesOf, type ModelResponse, type ToolUseBlock } from "./model";

/**
 * What a model reply means for the loop. The model's output is untrusted input: a prompt-injected or
 * simply confused model can send an empty answer, a novel, a tool call with an id Converse cannot pair,
 * or usage numbers that would blind the token budget. The reply is checked here, after its step
 * checkpointed it, so the reading is pure and the same on every replay. An unusable reply ends the run
 * as STOPPED with an explanation: never ANSWERED, never a crash.
 *
 * Tool names and arguments are checked per call in src/tools.ts (an unknown tool goes back to the model).
 */
export const MAX_ANSWER_CHARS = 8000;
export const MAX_TOOL_CALLS_PER_TURN = 8;

const Usage = z.object({
  inputTokens: z.number().check(z.int("must be a whole number"), z.nonnegative("must not be negative")),
  outputTokens: z.number().check(z.int("must be a whole number"), z.nonnegative("must not be negative")),
});
const ToolUseShape = z.object({
  type: z.literal("toolUse"),
  // Bedrock's own pattern for tool-use ids; each tool result must carry it back.
  toolUseId: z
    .string("must be a string")
    .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -")),
  name: z.string("must be a string").check(z.maxLength(64, "must be at most 64 characters")),
  input: z.unknown(),
});
const ReplyShape = z.object({
  message: z.object({
    role: z.literal("assistant", 'must be "assistant"'),
    content: z.array(z.union([z.object({ type: z.literal("text"), text: z.string() }), ToolUseShape])),
  }),
  stopReason: z.string("must be a string"),
  usage: Usage,
});

export type ReplyReading =
  | { kind: "answer"; text: string }
  | { kind: "tool-calls"; uses: ToolUseBlock[] }
  | {
      kind: "stopped";
      reason: "model-stopped" | "unusable-reply";
      explanation: string;
      partialAnswer: string;
    };

export function readModelReply(reply: ModelResponse): ReplyReading {
  const shape = ReplyShape.safeParse(reply, { error: defaultMessages });
  if (!shape.success) {
    return unusable(`The model's reply was malformed (${describeIssues(shape.error).join("; ")}).`, "");
  }
  const text = textOf(reply.message);
  const uses = toolUsesOf(reply.message);
  if (uses.length > 0) {
    if (uses.length > MAX_TOOL_CALLS_PER_TURN) {
      return unusable(
        `The model asked for ${uses.length} tool calls in one turn (at most ${MAX_TOOL_CALLS_PER_TURN}); none was run.`,
        text,
      );
    }
    const ids = new Set(uses.map((use) => use.toolUseId));
    if (ids.size !== uses.length)
      return unusable("The model gave two tool calls the same id; none was run.", text);
    return { kind: "tool-calls", uses };
  }
  if (reply.stopReason !== "end_turn" && reply.stopReason !== "stop_sequence") {
    return {
      kind: "stopped",
      reason: "model-stopped",
      explanation: `The model stopped with "${reply.stopReason}" before finishing its answer.`,
      partialAnswer: text.slice(0, MAX_ANSWER_CHARS),
    };
  }
  // An empty answer is not an answer: the customer would get a blank message marked as answered.
  if (text === "")
    return unusable("The model finished without a word for the customer; a person should answer.", "");
  if (text.length > MAX_ANSWER_CHARS) {
    return unusable(
      `The model's answer is ${text.length} characters long (at most ${MAX_ANSWER_CHARS}); it was not sent.`,
      "",
    );
  }
  return { kind: "answer", text };
}

function unusable(explanation: string, partialAnswer: string): ReplyReading {
  return {
    kind: "stopped",
    reason: "unusable-reply",
    explanation,
    partialAnswer: partialAnswer.slice(0, MAX_ANSWER_CHARS),
  };
}
