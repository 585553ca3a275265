import type { ZodMiniType } from "zod/mini";
import { MALFORMED_ANSWER } from "./call-outcome";
import { errorFor } from "./deps";

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
