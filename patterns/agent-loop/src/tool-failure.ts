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
  return (
    text
      .replace(/\b(bearer|basic)\s+[^\s"',]+/gi, "$1 [redacted]")
      .replace(/([?&][^=\s&#"']*=)[^&\s#"']*/g, "$1[redacted]")
      .replace(
        /\b(token|secret|password|api[-_]?key|authorization|callbackId)("?\s*[:=]\s*"?)[^\s"',&}]+/gi,
        "$1$2[redacted]",
      )
      // Long opaque strings, in either base64 alphabet (or hex): the standard one has "/" and no "-", the URL-safe
      // one "-" and no "/". A URL's path ("127.0.0.1:8080/support/orders/order-1042/refunds") has both, in short
      // runs, and stays readable.
      .replace(/[A-Za-z0-9+/=]{32,}|[A-Za-z0-9_=-]{32,}/g, "[redacted]")
      .slice(0, MAX_LOGGED_ERROR_CHARS)
  );
}

/** The most of the last attempt's error that goes into a refund-in-doubt alert. */
const MAX_ALERTED_ERROR_CHARS = 250;

/**
 * What people are told of a refund payment in doubt. The payment's outcome comes first, with what to do: it may
 * have been paid, so look it up by its key before anything else. Never the kind of the last failure ("unavailable:
 * nothing was changed, try again later"): the step keeps only its last attempt's error, which may be a read of the
 * ledger that failed after an earlier attempt's payment call went out. That error follows, labelled as what it is,
 * redacted, on one line and bounded.
 */
export function refundInDoubtProblem(idempotencyKey: string, error: unknown): string {
  const lastAttempt = redact(error instanceof Error ? error.message : error)
    // One line: a custom dep's message may carry new lines or terminal escapes, and an alert is read in a terminal.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .slice(0, MAX_ALERTED_ERROR_CHARS);
  return (
    `In doubt: the refund may have been paid. Its payment request may have reached the payment provider, and ` +
    `nothing since showed whether it was paid. Look it up at the provider under ${idempotencyKey} before doing ` +
    `anything else: do not pay it again, or count it as unpaid, until you know. Last attempt: ${lastAttempt}`
  );
}
