import type { ZodMiniType } from "zod/mini";
import { failedBeforeSending, MALFORMED_ANSWER } from "./call-outcome";
import { errorFor, NotSentError, OutcomeInDoubtError, TransientServiceError } from "./deps";

/**
 * What the workflow takes from any deps, whoever wrote them. Every provider call inside a step goes through here:
 *
 * - Its answer is input, checked against the provider's answer schema (src/answers.ts) where the workflow uses it.
 *   An answer that does not match is in doubt: the provider may have acted, and we cannot read what it did.
 * - Its error is bounded. The SDK checkpoints a failed attempt's message, and refuses one larger than its limit
 *   (32 KB) by failing the invocation, so a 40 KB HTML error page would stop the order on replay after replay.
 *   Control characters are replaced too: the message ends up in logs and in the order's error.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 1000;

export async function checkedCall<T>(
  what: string,
  answer: ZodMiniType<T>,
  call: () => Promise<unknown>,
): Promise<T> {
  const reply = await boundedCall(call);
  const parsed = answer.safeParse(reply);
  if (!parsed.success) throw errorFor(MALFORMED_ANSWER, `${what} answered with an unusable answer`);
  return parsed.data;
}

/** Runs one call and rethrows its error, whatever it is, with a message fit for a checkpoint. */
export async function boundedCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw boundedError(error);
  }
}

/** The same error (class and fields kept, so retry decisions still see what it was), its message bounded. */
export function boundedError(error: unknown): unknown {
  if (!(error instanceof Error)) return error; // the SDK records anything else as "Unknown error"
  const message = boundedText(typeof error.message === "string" ? error.message : String(error.message));
  if (message !== error.message) error.message = message;
  return error;
}

export function boundedText(text: string, max = MAX_ERROR_MESSAGE_LENGTH): string {
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  return clean.length <= max
    ? clean
    : `${clean.slice(0, max)}... (${clean.length - max} more characters cut)`;
}

/**
 * What an attempt that failed before sending (a setting, a secret that could not be read: failedBeforeSending)
 * means for the call, in a step that sends again in doubt with the same key (reserve-stock, create-shipment). That
 * attempt sent nothing; the call is not done only if no attempt did.
 *
 * - First attempt: nothing ever reached the provider, so not done. A setting a person must fix is thrown as it is
 *   (never retried). A secret that could not be read for now becomes NotSentError and ends the step: retried, a
 *   later attempt failing the same way could no longer prove that no attempt was sent (the attempt number is all an
 *   attempt knows of the ones before it), and the step would end in doubt with nothing ever sent.
 * - Later attempts: an earlier attempt was retried because it was in doubt (or not done for now) and may have acted,
 *   so a setting failure now is in doubt (OutcomeInDoubtError: retried with the same key, which settles it once the
 *   setting is fixed); a secret that cannot be read for now stays a TransientServiceError, retried, and in doubt if the
 *   step ends on it. Anything else is returned unchanged.
 */
export function attemptError(error: unknown, attempt: number): unknown {
  if (!failedBeforeSending(error)) return error;
  const message = (error as Error).message;
  const retryable = (error as { retryable?: unknown }).retryable === true;
  if (attempt === 1) {
    return retryable ? new NotSentError(`${message} (on the first attempt: nothing was ever sent)`) : error;
  }
  // Retried as it is (the HTTP deps' SettingUnavailableError); a step that ends on it is in doubt.
  if (error instanceof TransientServiceError) return error;
  return new OutcomeInDoubtError(
    `${message} (attempt ${attempt} sent nothing, but an earlier attempt may have reached the provider)`,
  );
}
