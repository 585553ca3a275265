import { DurableOperationError } from "@aws/durable-execution-sdk-js";

/**
 * What a failed tool means, for the model and for the people who run the agent. An error's message is
 * never copied into the model's context: a back office, a custom client or an approval service may put
 * anything into one (a URL with a token, the request it was sent, the callback id). The model gets a fixed
 * sentence for the kind of failure; operators get a bounded, redacted form of the message in the log.
 *
 * Pure: it reads the checkpointed error, the same on every replay.
 */
export type FailureKind = "unavailable" | "unusable-answer" | "misconfigured" | "failed";

/** The most of an error message that goes into a log line. */
export const MAX_LOGGED_ERROR_CHARS = 300;

/**
 * A step's error keeps the original error's name as its cause's name (the class itself is not kept across
 * a checkpoint), so the classification walks the cause chain by name.
 */
export function classifyFailure(error: unknown): FailureKind {
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    names.push(current.name);
    if (current instanceof DurableOperationError) names.push(current.errorType);
    current = current.cause;
  }
  // A setting only a person can fix (a secret missing, unreadable or in plain text, a URL that cannot be
  // used): thrown before anything was sent, never retried.
  if (names.includes("SecretSettingError") || names.includes("HttpSettingError")) return "misconfigured";
  if (names.includes("TransientServiceError")) return "unavailable";
  if (names.includes("UnreadableAnswerError")) return "unusable-answer";
  return "failed";
}

/** The model's sentence for a tool that failed after its retries. Fixed text: nothing from the error. */
export function failureForModel(tool: string, kind: FailureKind): string {
  switch (kind) {
    case "unavailable":
      return `${tool} failed: the back office is unavailable right now. Nothing was changed by this call; suggest trying again later.`;
    case "unusable-answer":
      return `${tool} failed: the back office answered something that cannot be used. A person will look into it.`;
    case "misconfigured":
      return `${tool} failed: the back office cannot be called until a person fixes a setting. Nothing was sent.`;
    case "failed":
      return `${tool} failed unexpectedly. A person will look into it.`;
  }
}

/** The name of the setting error in a failure's cause chain, if it is one ("SecretSettingError"). */
export function settingErrorName(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current.name === "SecretSettingError" || current.name === "HttpSettingError") return current.name;
    current = current.cause;
  }
  return undefined;
}

/**
 * A setting that cannot be used fails the run, not just the tool: every back-office call would fail the same
 * way until a person fixes it. The execution's error keeps the setting error's name and its message, which names
 * the setting and never its value.
 */
export function settingFailure(error: Error): Error {
  let innermost: Error = error;
  while (innermost.cause instanceof Error) innermost = innermost.cause;
  const failure = new Error(innermost.message.slice(0, MAX_LOGGED_ERROR_CHARS));
  failure.name = settingErrorName(error) ?? "SettingError";
  return failure;
}

/**
 * An error message as operators may read it: the given secrets (a callback id) cut out, then anything that
 * looks like a credential (a bearer token, a URL's query values, `token=...`, long opaque strings), and
 * bounded. Redaction by pattern is a safety net, not a licence: code still never puts a secret into an error.
 */
export function redact(message: unknown, secrets: string[] = []): string {
  let text = String(message);
  for (const secret of secrets) if (secret) text = text.split(secret).join("[redacted]");
  return text
    .replace(/\b(bearer|basic)\s+[^\s"',]+/gi, "$1 [redacted]")
    .replace(/([?&][^=\s&#"']*=)[^&\s#"']*/g, "$1[redacted]")
    .replace(
      /\b(token|secret|password|api[-_]?key|authorization|callbackId)("?\s*[:=]\s*"?)[^\s"',&}]+/gi,
      "$1$2[redacted]",
    )
    .replace(/[A-Za-z0-9+/_=-]{32,}/g, "[redacted]")
    .slice(0, MAX_LOGGED_ERROR_CHARS);
}
