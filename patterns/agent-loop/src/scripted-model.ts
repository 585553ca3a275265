import {
  ModelRequestError,
  TransientModelError,
  type ChatMessage,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type ModelStopReason,
  type TokenUsage,
  type ToolResultBlock,
} from "./model";

/**
 * A deterministic stand-in for the model, for tests and the demo: each turn is scripted, optionally as
 * a function of the request so it can react to tool results. It speaks the same ModelProvider contract
 * as Bedrock, including the errors, and records every call so tests can count them.
 */
export interface ScriptedTurn {
  text?: string;
  /** `toolUseId` defaults to `tooluse-<turn>-<n>`; a test may give its own (an odd one, a duplicate). */
  toolUses?: { name: string; input: unknown; toolUseId?: string }[];
  /** Defaults to "tool_use" when there are tool uses, else "end_turn". */
  stopReason?: ModelStopReason;
  /** Defaults to an estimate of about four characters per token, from the request and the reply. */
  usage?: TokenUsage;
}

export type ScriptStep = ScriptedTurn | ((request: ModelRequest) => ScriptedTurn);

/** What the scripted model raises, with the message and retry class Bedrock's errors get. */
export type ModelFault = "throttled" | "unavailable" | "not-ready" | "validation" | "access-denied";

export interface ScriptedCall {
  turn: number;
  outcome: "ok" | ModelFault;
  request: ModelRequest;
}

export interface ScriptedModel extends ModelProvider {
  calls: ScriptedCall[];
  /** Calls made for one turn, failed attempts included. */
  callsFor(turn: number): number;
}

export interface ScriptedModelOptions {
  /** Faults raised on the first calls of a turn, in order, before the turn succeeds: `{ 2: ["throttled"] }`. */
  faults?: Record<number, ModelFault[]>;
}

const faultErrors: Record<ModelFault, () => Error> = {
  throttled: () =>
    new TransientModelError(
      "Bedrock ThrottlingException (429): Too many requests, please wait.",
      "ThrottlingException",
    ),
  unavailable: () =>
    new TransientModelError(
      "Bedrock ServiceUnavailableException (503): Service unavailable.",
      "ServiceUnavailableException",
    ),
  "not-ready": () =>
    new TransientModelError(
      "Bedrock ModelNotReadyException (429): The model is not ready.",
      "ModelNotReadyException",
    ),
  validation: () =>
    new ModelRequestError(
      "Bedrock ValidationException (400): The provided model identifier is invalid.",
      "ValidationException",
    ),
  "access-denied": () =>
    new ModelRequestError(
      "Bedrock AccessDeniedException (403): You don't have access to the model.",
      "AccessDeniedException",
    ),
};

export function scriptedModel(script: ScriptStep[], options: ScriptedModelOptions = {}): ScriptedModel {
  const calls: ScriptedCall[] = [];
  const pending = new Map(
    Object.entries(options.faults ?? {}).map(([turn, faults]) => [Number(turn), [...faults]]),
  );
  return {
    calls,
    callsFor: (turn) => calls.filter((call) => call.turn === turn).length,
    async converse(request): Promise<ModelResponse> {
      // The turn is how many times the model has already spoken, plus one.
      const turn = request.messages.filter((message) => message.role === "assistant").length + 1;
      const fault = pending.get(turn)?.shift();
      calls.push({ turn, outcome: fault ?? "ok", request: structuredClone(request) });
      if (fault) throw faultErrors[fault]();
      const step = script[turn - 1];
      if (step === undefined)
        throw new ModelRequestError(`The script has no turn ${turn}`, "ScriptExhausted");
      const scripted = typeof step === "function" ? step(request) : step;
      const message: ChatMessage = {
        role: "assistant",
        content: [
          ...(scripted.text ? [{ type: "text" as const, text: scripted.text }] : []),
          ...(scripted.toolUses ?? []).map((use, index) => ({
            type: "toolUse" as const,
            toolUseId: use.toolUseId ?? `tooluse-${turn}-${index + 1}`,
            name: use.name,
            input: use.input,
          })),
        ],
      };
      return {
        message,
        stopReason: scripted.stopReason ?? (scripted.toolUses?.length ? "tool_use" : "end_turn"),
        usage: scripted.usage ?? {
          inputTokens: estimateTokens({
            system: request.system,
            messages: request.messages,
            tools: request.tools,
          }),
          outputTokens: estimateTokens(message.content),
        },
      };
    },
  };
}

export function estimateTokens(value: unknown): number {
  return Math.ceil(JSON.stringify(value).length / 4);
}

/** The tool results the agent sent back in its last message: what a scripted turn reacts to. */
export function lastToolResults(request: ModelRequest): ToolResultBlock[] {
  const last = request.messages.at(-1);
  return (last?.content ?? []).filter((block): block is ToolResultBlock => block.type === "toolResult");
}

/** The customer's question: the first user message's text. */
export function questionOf(request: ModelRequest): string {
  const first = request.messages[0]?.content[0];
  return first?.type === "text" ? first.text : "";
}
