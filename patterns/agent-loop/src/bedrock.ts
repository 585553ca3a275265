import type {
  ContentBlock as BedrockContentBlock,
  ConverseCommand,
  ConverseCommandInput,
  ConverseCommandOutput,
  Message as BedrockMessage,
  ToolUseBlock as BedrockToolUse,
} from "@aws-sdk/client-bedrock-runtime";
import {
  ModelRequestError,
  TransientModelError,
  type ContentBlock,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
} from "./model";
import { onFirstUse } from "./on-first-use";

/** Only what the provider uses of the client, so tests can hand it a fake `send`. */
export interface ConverseClient {
  send(command: ConverseCommand): Promise<ConverseCommandOutput>;
}

export interface BedrockModelOptions {
  /** Defaults to a BedrockRuntimeClient created on first use (region and credentials from the Lambda environment). */
  client?: ConverseClient;
  /** Read on every call, inside the model step, never at import or replay time. */
  modelId?: () => string;
  temperature?: number;
}

export const DEFAULT_MODEL_ID = "amazon.nova-lite-v1:0";

export function modelIdFromEnv(): string {
  return process.env.BEDROCK_MODEL_ID || DEFAULT_MODEL_ID;
}

/**
 * The real model: Amazon Bedrock's Converse API with tool use. The client makes a single attempt
 * (`maxAttempts: 1`): retries belong to the durable step, whose backoff is checkpointed and can suspend
 * the function, instead of being multiplied by a second retry loop inside each attempt.
 */
export function createBedrockModel(options: BedrockModelOptions = {}): ModelProvider {
  return {
    async converse(request) {
      const modelId = (options.modelId ?? modelIdFromEnv)();
      const { ConverseCommand } = await bedrockModule();
      const client = options.client ?? (await lazyBedrockClient());
      let output: ConverseCommandOutput;
      try {
        output = await client.send(
          new ConverseCommand(toConverseInput(modelId, request, options.temperature ?? 0)),
        );
      } catch (error) {
        throw classifyBedrockError(error);
      }
      return fromConverseOutput(output);
    },
  };
}

/**
 * The Bedrock runtime client module, evaluated at the first model call rather than when the handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const bedrockModule = onFirstUse(() => import("@aws-sdk/client-bedrock-runtime"));
const lazyBedrockClient = onFirstUse(
  async () => new (await bedrockModule()).BedrockRuntimeClient({ maxAttempts: 1 }),
);

export function toConverseInput(
  modelId: string,
  request: ModelRequest,
  temperature = 0,
): ConverseCommandInput {
  return {
    modelId,
    system: [{ text: request.system }],
    messages: request.messages.map((message): BedrockMessage => ({
      role: message.role,
      content: message.content.map(toBedrockBlock),
    })),
    inferenceConfig: { maxTokens: request.maxOutputTokens, temperature },
    toolConfig: {
      tools: request.tools.map((tool) => ({
        toolSpec: {
          name: tool.name,
          description: tool.description,
          inputSchema: { json: asDocument(tool.inputSchema) },
        },
      })),
    },
  };
}

function toBedrockBlock(block: ContentBlock): BedrockContentBlock {
  switch (block.type) {
    case "text":
      return { text: block.text };
    case "toolUse":
      return { toolUse: { toolUseId: block.toolUseId, name: block.name, input: asDocument(block.input) } };
    case "toolResult":
      return {
        toolResult: {
          toolUseId: block.toolUseId,
          status: block.status,
          content: block.status === "success" ? [{ json: asDocument(block.json) }] : [{ text: block.text }],
        },
      };
  }
}

/** Bedrock's JSON "document" type. Our values are plain JSON already (they round-trip through checkpoints). */
type Document = NonNullable<BedrockToolUse["input"]>;
const asDocument = (value: unknown) => value as Document;

export function fromConverseOutput(output: ConverseCommandOutput): ModelResponse {
  const message = output.output?.message;
  if (!message) throw new ModelRequestError("Bedrock returned no message", "EmptyOutput");
  // Text and tool calls are what the loop needs; other blocks (reasoning, citations) are dropped here.
  const content = (message.content ?? []).flatMap((block): ContentBlock[] => {
    if (block.text !== undefined) return [{ type: "text", text: block.text }];
    if (block.toolUse !== undefined) {
      const { toolUseId = "", name = "", input = {} } = block.toolUse;
      return [{ type: "toolUse", toolUseId, name, input }];
    }
    return [];
  });
  return {
    message: { role: "assistant", content },
    stopReason: output.stopReason ?? "end_turn",
    usage: { inputTokens: output.usage?.inputTokens ?? 0, outputTokens: output.usage?.outputTokens ?? 0 },
  };
}

/** Bedrock errors that mean "try the same request again later". */
const TRANSIENT_BEDROCK_ERRORS = new Set([
  "ThrottlingException",
  "ServiceUnavailableException",
  "InternalServerException",
  "ModelNotReadyException",
  "ModelTimeoutException",
]);
/** Failures before any answer from the service: a connection reset or a socket timeout. */
const NETWORK_ERRORS = new Set([
  "TimeoutError",
  "AbortError",
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
]);

/**
 * Sorts an error from the Bedrock client into retryable (TransientModelError) or not (ModelRequestError).
 * ValidationException, AccessDeniedException, ResourceNotFoundException (wrong model id) and the rest
 * of the 4xx family fail at once: the same request would fail the same way.
 */
export function classifyBedrockError(error: unknown): Error {
  if (error instanceof TransientModelError || error instanceof ModelRequestError) return error;
  const { name, message, status, code } = describe(error);
  const text = `Bedrock ${name}${status ? ` (${status})` : ""}: ${message}`;
  const transient =
    TRANSIENT_BEDROCK_ERRORS.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    NETWORK_ERRORS.has(name) ||
    (code !== undefined && NETWORK_ERRORS.has(code));
  return transient ? new TransientModelError(text, name) : new ModelRequestError(text, name);
}

function describe(error: unknown): { name: string; message: string; status?: number; code?: string } {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const details = error as Error & { $metadata?: { httpStatusCode?: number }; code?: unknown };
  return {
    name: error.name,
    message: error.message,
    status: details.$metadata?.httpStatusCode,
    code: typeof details.code === "string" ? details.code : undefined,
  };
}
