/**
 * The conversation as the agent sees it, independent of any model vendor. Every value here is plain JSON:
 * model replies and tool results are checkpointed as step results, and the conversation is rebuilt from
 * them on every replay.
 */
export type JsonObject = { [key: string]: unknown };

export type ContentBlock =
  | { type: "text"; text: string }
  | { type: "toolUse"; toolUseId: string; name: string; input: unknown }
  | ToolResultBlock;

/** What a tool answered. An error goes back to the model too: it can fix its arguments or explain. */
export type ToolResultBlock =
  | { type: "toolResult"; toolUseId: string; status: "success"; json: JsonObject }
  | { type: "toolResult"; toolUseId: string; status: "error"; text: string };

export type ToolUseBlock = Extract<ContentBlock, { type: "toolUse" }>;

export interface ChatMessage {
  role: "user" | "assistant";
  content: ContentBlock[];
}

export interface ToolSpec {
  name: string;
  description: string;
  /** A JSON Schema object describing the tool's input. */
  inputSchema: JsonObject;
}

export interface ModelRequest {
  system: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxOutputTokens: number;
}

/**
 * Why the model stopped: `end_turn` (it answered), `tool_use` (it wants tools run), or anything else
 * the vendor reports (`max_tokens`, `guardrail_intervened`, `content_filtered`...).
 */
export type ModelStopReason = "end_turn" | "tool_use" | (string & {});

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ModelResponse {
  message: ChatMessage;
  stopReason: ModelStopReason;
  usage: TokenUsage;
}

/** The seam between the agent loop and a model: Bedrock in production, a script in tests and the demo. */
export interface ModelProvider {
  converse(request: ModelRequest): Promise<ModelResponse>;
}

/**
 * The model was throttled, overloaded, not ready, or the network failed: the same request may succeed
 * later, so the model step retries it with backoff. The arguments are optional because
 * `createRetryStrategy({ retryableErrorTypes })` needs classes it can name as `new () => Error`.
 */
export class TransientModelError extends Error {
  override readonly name = "TransientModelError";
  constructor(
    message = "The model is temporarily unavailable",
    readonly code = "Unknown",
  ) {
    super(message);
  }
}

/**
 * The request itself is wrong (validation, access denied, unknown model id): sending it again cannot
 * help, so it is not retried and the execution fails with this message.
 */
export class ModelRequestError extends Error {
  override readonly name = "ModelRequestError";
  constructor(
    message = "The model rejected the request",
    readonly code = "Unknown",
  ) {
    super(message);
  }
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

export function totalTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.outputTokens;
}

export function textOf(message: ChatMessage): string {
  return message.content
    .flatMap((block) => (block.type === "text" ? [block.text] : []))
    .join("\n")
    .trim();
}

export function toolUsesOf(message: ChatMessage): ToolUseBlock[] {
  return message.content.filter((block): block is ToolUseBlock => block.type === "toolUse");
}
