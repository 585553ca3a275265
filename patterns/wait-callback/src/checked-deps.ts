import { plainLine } from "./chat-text";
import type { JobStatus, PurchaseDeps } from "./deps";
import { ClientError, MalformedResponseError, NotSentError, TransientServiceError } from "./errors";
import { HttpSettingError } from "./http-call";
import { checkedAnswer, JobStatusResponse, OrderResponse, SubmitResponse } from "./provider-answers";
import { SecretSettingError } from "./secret-setting";

/** An error from outside becomes one line of at most this many characters before it goes anywhere. */
export const MAX_ERROR_CHARS = 300;

/**
 * The deps as the workflow uses them, whoever wrote them: the built-in HTTP client or your own.
 *
 * - Answers are input: checked with the providers' schemas (provider-answers.ts), so a custom supplier that
 *   says SHIPPED without a tracking number is held to the same standard as the HTTP one.
 * - Errors are outside text: whatever a dependency throws becomes one bounded line, and a message's callback
 *   id (a bearer token: a chat service that quotes the message back puts it into its error) becomes
 *   `[callback id]`. This happens inside the step, before the SDK checkpoints the error, so the id reaches no
 *   checkpoint, result, log line or execution error. The error keeps its class (and a SecretSettingError whether
 *   it is retryable), which the retry decision reads.
 */
export function checkedDeps(deps: PurchaseDeps): PurchaseDeps {
  return {
    approvals: {
      askForDecision: (message) =>
        guarded(() => deps.approvals.askForDecision(message), [message.callbackId]),
    },
    purchasing: {
      submit: async (request) =>
        checkedAnswer(
          "purchasing submit",
          await guarded(() => deps.purchasing.submit(request)),
          SubmitResponse,
        ),
      recordDecision: (decision) => guarded(() => deps.purchasing.recordDecision(decision)),
    },
    supplier: {
      placeOrder: async (order) =>
        checkedAnswer("supplier order", await guarded(() => deps.supplier.placeOrder(order)), OrderResponse),
      jobStatus: async (job): Promise<JobStatus> => {
        const status = checkedAnswer(
          "supplier job status",
          await guarded(() => deps.supplier.jobStatus(job)),
          JobStatusResponse,
        );
        const { state, detail } = status;
        return {
          state,
          ...(status.state === "SHIPPED" ? { trackingNumber: status.trackingNumber } : {}),
          ...(detail === undefined ? {} : { detail: plainLine(detail, 500) }),
        };
      },
    },
  };
}

async function guarded<T>(call: () => Promise<T>, secrets: string[] = []): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw outsideError(error, secrets);
  }
}

/** The same kind of error, its message one bounded line with every secret (in any of its forms) taken out. */
export function outsideError(error: unknown, secrets: string[] = []): Error {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets.filter((value) => value !== "")) {
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
      text = text.split(form).join("[callback id]");
    }
  }
  const message = plainLine(text, MAX_ERROR_CHARS);
  if (error instanceof ClientError) return new ClientError(message, error.status);
  // Before TransientServiceError, which it extends: its own name says nothing was sent.
  if (error instanceof NotSentError) return new NotSentError(message, error.status);
  // A setting that could not be used: the retry decision reads whether Secrets Manager may answer later.
  if (error instanceof SecretSettingError)
    return new SecretSettingError(message, error.setting, error.retryable);
  if (error instanceof HttpSettingError) return new HttpSettingError(message);
  if (error instanceof TransientServiceError) return new TransientServiceError(message, error.status);
  if (error instanceof MalformedResponseError) return new MalformedResponseError(message);
  const plain = new Error(message);
  const name = error instanceof Error ? plainLine(error.name, 60) : "";
  if (name !== "" && name !== "Error") plain.name = name;
  return plain;
}
