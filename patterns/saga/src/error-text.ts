/**
 * What of an error's text may be kept. Every message a provider's error carries ends up in a checkpoint (a failed
 * step's error, a compensation's reason), in the payload sent to operations, in the execution's error and in log
 * lines. So before it goes anywhere it is made safe here, whatever the provider (or a custom TripDeps) threw:
 *
 * - bounded: a checkpointed error must be under 32 KB, or the checkpoint itself fails and the execution dies
 *   without compensating; 500 characters say what happened;
 * - one line: control characters (newlines, escapes) become spaces, so a message cannot forge log lines;
 * - no credentials: a provider's error body may echo the request's headers, so bearer and basic tokens, an
 *   `authorization` header's value and API-key shaped strings are replaced by `[redacted]`.
 */
export const MAX_ERROR_TEXT = 500;

const CREDENTIALS: [RegExp, string][] = [
  [
    /("?(?:authorization|x-api-key|api[-_]?key|token|password|secret)"?\s*[:=]\s*"?)(?:(?:bearer|basic|token)\s+)?[^"\s,;}&]+/gi,
    "$1[redacted]",
  ],
  [/\b(bearer|basic)(\s+|%20)(?!\[redacted\])[\w.~+/=-]+/gi, "$1 [redacted]"],
  [/\b(?:sk|pk|rk)_(?:live|test)_\w+/gi, "[redacted]"],
];

export function safeText(text: string, max = MAX_ERROR_TEXT, secrets: readonly string[] = []): string {
  let safe = text;
  for (const secret of secrets) if (secret !== "") safe = safe.split(secret).join("[redacted]");
  // eslint-disable-next-line no-control-regex
  safe = safe.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ");
  for (const [pattern, replacement] of CREDENTIALS) safe = safe.replace(pattern, replacement);
  return safe.length <= max ? safe : `${safe.slice(0, max)}… (${safe.length - max} more characters)`;
}

/** The same error, its message made safe: its class is kept, because retry strategies filter on it. */
export function safeError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(safeText(String(error)));
  try {
    error.message = safeText(error.message);
    error.stack = undefined;
    return error;
  } catch {
    return new Error(safeText(error.message));
  }
}

/**
 * The dependencies as the workflow uses them: every function, at any depth, throws only errors made safe by
 * `safeError`. Functions are read at call time, so a dependency replaced after wrapping is still wrapped.
 */
export function withSafeErrors<T extends object>(dependencies: T): T {
  return new Proxy(dependencies, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value === "function") {
        return async (...args: unknown[]) => {
          try {
            return await (value as (...a: unknown[]) => unknown).apply(target, args);
          } catch (error) {
            throw safeError(error);
          }
        };
      }
      return value !== null && typeof value === "object" ? withSafeErrors(value) : value;
    },
  });
}
