import { createHash } from "node:crypto";
import { createBedrockModel } from "./bedrock";
import {
  checkAnswer,
  OrderAnswer,
  PolicyAnswer,
  PriorRefundsAnswer,
  RefundReceiptAnswer,
  UnreadableAnswerError,
} from "./back-office-answers";
import { httpCall, HttpSettingError } from "./http-call";
import type { ModelProvider } from "./model";
import { SECRET_MAX_AGE_SECONDS, secretSetting, SecretSettingError } from "./secret-setting";

export { HttpSettingError } from "./http-call";
export { SecretSettingError } from "./secret-setting";

/**
 * The outside world of the support agent. Every call is a side effect, so the workflow makes each one
 * inside a step (or, for the approval request, inside waitForCallback's submitter). Amounts are whole
 * cents (src/money.ts).
 */
export interface Order {
  orderId: string;
  customerId: string;
  status: "processing" | "shipped" | "delivered" | "cancelled";
  placedOn: string;
  items: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
}

export const REFUND_REASONS = ["damaged", "not-delivered", "wrong-item", "changed-mind"] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** What the refund policy service says about one order and reason. */
export interface PolicyDecision {
  eligible: boolean;
  maxRefundCents: number;
  explanation: string;
}

/** A refund already paid for an order, as the back office records it. */
export interface PriorRefund {
  refundId: string;
  amountCents: number;
  currency: string;
  /** The idempotency key it was paid under, which the back office records with each refund it pays. */
  idempotencyKey?: string;
}

export interface Orders {
  /** The order, or undefined when there is none with that id. */
  find(orderId: string): Promise<Order | undefined>;
  /** The refunds already paid for an order (none for an unknown order). */
  refundsPaid(orderId: string): Promise<PriorRefund[]>;
}
export interface RefundPolicy {
  evaluate(request: { order: Order; reason: RefundReason }): Promise<PolicyDecision>;
}
export interface Payments {
  /**
   * Pays a refund. The provider keeps the answer of each idempotency key: the same key again gets the
   * first refund back instead of a second one.
   */
  refund(request: {
    orderId: string;
    amountCents: number;
    currency: string;
    reason: RefundReason;
    idempotencyKey: string;
  }): Promise<{ refundId: string }>;
}

/** What the approver is shown, and the callback id they answer with. */
export interface ApprovalRequest {
  /** The one secret of the request: whoever holds it can answer. It goes only to the approver. */
  callbackId: string;
  /** The person asked. Only their answer is a decision. */
  approver: string;
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
  /**
   * The reason the model chose, one of four: the policy was evaluated for it. Only the customer's own
   * words below show whether it is true.
   */
  reason: RefundReason;
  /** The policy's verdict for this order and reason, as the refund guard applied it. */
  policy: { eligible: true; maxRefundCents: number; explanation: string };
  /** Refunds already paid for this order, from the back office, and what is left after this one. */
  priorRefunds: { totalCents: number; refunds: PriorRefund[]; remainingAfterCents: number };
  /** The customer's own words, as they wrote them. */
  customerWrote: string;
  /** Text the model wrote. Labelled so that no one reads it as the customer's words or the policy's. */
  writtenByModel: { noteForApprover: string };
}

export interface Approvals {
  /** Ask a person to approve a refund. They answer by completing the callback with its id. */
  requestApproval(request: ApprovalRequest): Promise<void>;
}

/** A refund payment whose outcome stays unknown: people must find out whether it was paid. */
export interface RefundInDoubtAlert {
  orderId: string;
  amountCents: number;
  currency: string;
  /** The payment's idempotency key: look the refund up by it at the provider. */
  idempotencyKey: string;
  /**
   * For people, in words: the payment's outcome (in doubt: it may have been paid), to look it up by its key before
   * anything else, then the last attempt's error, labelled, redacted and bounded (src/tool-failure.ts).
   */
  problem: string;
}

export interface Alerts {
  /** Tell the people who run the shop's money (an incident tool, a queue someone watches). */
  refundInDoubt(alert: RefundInDoubtAlert): Promise<void>;
}

export interface SupportDeps {
  model: ModelProvider;
  orders: Orders;
  refundPolicy: RefundPolicy;
  payments: Payments;
  approvals: Approvals;
  alerts: Alerts;
}

/** A service was unavailable or throttled us (5xx, 429, network): the same request may succeed later. */
export class TransientServiceError extends Error {
  override readonly name = "TransientServiceError";
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpDepsConfig {
  /**
   * Base URL of the support back office, with or without a trailing slash (its path is kept):
   * orders/{id}, orders/{id}/refunds, refund-policy, refunds, approvals, alerts under it.
   */
  backOfficeUrl: string;
  /** Reads the bearer token for the back office (a secret); `undefined`, or no reader, sends none. */
  apiToken?: () => Promise<string | undefined>;
  timeoutMs?: number;
}

/**
 * The deployed function's configuration: BACK_OFFICE_URL from the environment, BACK_OFFICE_TOKEN from
 * Secrets Manager (src/secret-setting.ts: the environment holds only BACK_OFFICE_TOKEN_SECRET_ARN; the token
 * itself in the environment is refused). Read inside the step that makes the call.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HttpDepsConfig {
  return {
    backOfficeUrl: env.BACK_OFFICE_URL ?? "",
    apiToken: () => secretSetting("BACK_OFFICE_TOKEN", { required: false, env }),
  };
}

/** What one back-office call came to, once it is known not to have failed: a 2xx body, or a 404. */
type Answered = { found: true; body: unknown; what: string } | { found: false; what: string };

/**
 * The real dependencies: Bedrock for the model (BEDROCK_MODEL_ID) and JSON over HTTP for the back
 * office (BACK_OFFICE_URL), every call through src/http-call.ts (the base URL's path kept, a timeout,
 * redirects never followed, bodies read up to a bound). Configuration, the token included, is read on each
 * call, inside the step that makes it. Every answer is parsed with a schema (src/back-office-answers.ts); an
 * answer that does not fit is an error naming what is wrong, never a value cast to a type.
 *
 * | what happened                                      | thrown                                                  |
 * | -------------------------------------------------- | ------------------------------------------------------- |
 * | 2xx with a body it cannot read (not JSON, too big) | UnreadableAnswerError (a refund's: in doubt, see below) |
 * | 404                                                | nothing: "not found", for the caller to judge          |
 * | 429, 5xx                                           | TransientServiceError (retried)                         |
 * | 401, 403                                           | Error naming the token's setting, not retried           |
 * | another status (a 3xx: never followed)             | Error, not retried                                      |
 * | never sent, timed out, connection lost             | TransientServiceError (retried with the same key)       |
 * | the URL or the token cannot be used                | HttpSettingError or SecretSettingError, before sending  |
 */
export function createRealDeps(config: () => HttpDepsConfig = configFromEnv): SupportDeps {
  const call = async (
    method: "GET" | "POST",
    path: string,
    body?: object,
    idempotencyKey?: string,
  ): Promise<Answered> => {
    const { backOfficeUrl, apiToken, timeoutMs = 10_000 } = config();
    if (!backOfficeUrl) throw new HttpSettingError("BACK_OFFICE_URL is not set");
    const what = `${method} ${path}`;
    const token = apiToken ? await apiToken().catch(secretsManagerDown) : undefined;
    const result = await httpCall({
      baseUrl: backOfficeUrl,
      path,
      method,
      ...(body === undefined ? {} : { body }),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(token === undefined ? {} : { token }),
      timeoutMs,
    }).catch((error: unknown) => {
      // Says what is wrong with the URL, never the URL: here, which setting it is.
      if (error instanceof HttpSettingError) throw new HttpSettingError(`BACK_OFFICE_URL: ${error.message}`);
      throw error;
    });
    switch (result.kind) {
      case "answered":
        return { found: true, body: result.value, what };
      case "malformed":
        // Named by what was wrong, never by the body (the excerpt of one that is not JSON quotes it).
        throw new UnreadableAnswerError(
          result.excerpt.startsWith("not JSON")
            ? `${what} answered something that is not JSON`
            : `${what} answered something it cannot read (${result.excerpt})`,
        );
      case "status":
        if (result.status === 429 || result.status >= 500) {
          throw new TransientServiceError(`${result.call} answered ${result.status}`, result.status);
        }
        if (result.status === 404) return { found: false, what };
        // The body is not echoed: a back office may repeat what it was sent, and errors end up in logs.
        if (result.status === 401 || result.status === 403) {
          throw new Error(`${result.call} answered ${result.status}: ${refusedToken(token)}`);
        }
        throw new Error(`${result.call} answered ${result.status}`);
      // Said in words from the facts (kind, code), never the network error itself: serialized, that is a socket
      // object (ports, byte counts), and it tells a person nothing about what may have happened.
      case "not-sent":
        throw new TransientServiceError(
          `${result.call} was not sent: the connection could not be made (${result.code}), so nothing reached the back office`,
        );
      case "timed-out":
        throw new TransientServiceError(
          `${result.call} got no answer within ${timeoutMs} ms: the request may have been acted on`,
        );
      case "lost":
        throw new TransientServiceError(
          `${result.call} failed: the connection broke after the request was sent: it may have been acted on (${result.code})`,
        );
    }
  };
  const required = <T>(answer: Answered, read: (body: unknown, what: string) => T) => {
    if (!answer.found)
      throw new UnreadableAnswerError("The back office answered 404 for a call that must find");
    return read(answer.body, answer.what);
  };
  return {
    model: createBedrockModel(),
    orders: {
      find: async (orderId) => {
        const answer = await call("GET", `orders/${encodeURIComponent(orderId)}`);
        if (!answer.found) return undefined;
        const order = checkAnswer(OrderAnswer, answer.body, answer.what);
        // A well-formed answer about another order is still not an answer to this question.
        if (order.orderId !== orderId)
          throw new UnreadableAnswerError(`${answer.what} answered with another order`);
        return order;
      },
      refundsPaid: async (orderId) => {
        const answer = await call("GET", `orders/${encodeURIComponent(orderId)}/refunds`);
        return answer.found ? checkAnswer(PriorRefundsAnswer, answer.body, answer.what).refunds : [];
      },
    },
    refundPolicy: {
      evaluate: async (request) =>
        required(await call("POST", "refund-policy", request), (body, what) =>
          checkAnswer(PolicyAnswer, body, what),
        ),
    },
    payments: {
      refund: async ({ idempotencyKey, ...request }) => {
        let answer: Answered;
        try {
          answer = await call("POST", "refunds", request, idempotencyKey);
        } catch (error) {
          // A 2xx we cannot read: the refund may have been paid. The provider keeps each key's answer, so
          // the step's retry with the same key reads it again instead of paying twice.
          if (error instanceof UnreadableAnswerError) throw inDoubt(error);
          throw error;
        }
        return required(answer, (body, what) => {
          try {
            return checkAnswer(RefundReceiptAnswer, body, what);
          } catch (error) {
            throw inDoubt(error as Error);
          }
        });
      },
    },
    alerts: {
      // The key is the refund's: an alert resent by the step's retry is one alert.
      refundInDoubt: async (alert) => {
        required(
          await call(
            "POST",
            "alerts",
            { kind: "refund-in-doubt", ...alert },
            `alert-${alert.idempotencyKey}`,
          ).catch(bodyNotRead),
          () => undefined,
        );
      },
    },
    approvals: {
      requestApproval: async (request) => {
        // Never the callback id itself as a header: proxies and tracing tools log headers, and whoever
        // reads the id can answer for the approver. A digest of it still lets the back office drop a
        // resent request, and cannot be turned back into the id.
        required(
          await call("POST", "approvals", request, approvalRequestKey(request.callbackId)).catch(bodyNotRead),
          () => undefined,
        );
      },
    },
  };
}

/**
 * Secrets Manager itself failed for a while (throttled, an internal error, the network): nothing was sent, and
 * the same call may work soon, so it is retried like an outage. A secret that is missing, unreadable or set in
 * plain text stays a SecretSettingError: not retried, and the run fails naming the setting.
 */
const secretsManagerDown = (error: unknown): never => {
  if (error instanceof SecretSettingError && error.retryable) {
    throw new TransientServiceError(`${error.message}: nothing was sent`);
  }
  throw error;
};

/**
 * What a 401 or 403 says about the token: a definite refusal (nothing was done, and it is not retried). With no
 * token sent, the setting is unset or its secret still holds the stack's placeholder. With one, it was refused: a
 * token rotated at the back office is read again once the sandbox's cached value expires (SECRET_MAX_AGE_SECONDS).
 */
const refusedToken = (token: string | undefined) =>
  token === undefined
    ? "no token was sent (BACK_OFFICE_TOKEN_SECRET_ARN is not set, or its secret still holds the stack's placeholder)"
    : `the token from BACK_OFFICE_TOKEN_SECRET_ARN was refused (a new value put in the secret is used within ${SECRET_MAX_AGE_SECONDS} s)`;

/** A refund answer that cannot be read: the refund may have been paid, so it is in doubt and retried. */
const inDoubt = (error: Error) =>
  new TransientServiceError(`${error.message} (refund in doubt; retried with the same key)`);

/** Where the answer is not read (an approval request, an alert), a 2xx is done whatever its body. */
const bodyNotRead = (error: unknown): Answered => {
  if (error instanceof UnreadableAnswerError) return { found: true, body: undefined, what: "" };
  throw error;
};

/** The idempotency key of an approval request: a SHA-256 digest of its callback id, never the id. */
export function approvalRequestKey(callbackId: string): string {
  return `approval-${createHash("sha256").update(callbackId).digest("hex").slice(0, 32)}`;
}
