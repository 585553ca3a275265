import { createHash } from "node:crypto";
import { createBedrockModel } from "./bedrock";
import {
  OrderAnswer,
  PolicyAnswer,
  PriorRefundsAnswer,
  readAnswer,
  RefundReceiptAnswer,
  UnreadableAnswerError,
} from "./back-office-answers";
import type { ModelProvider } from "./model";

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
  /** What failed, classified and redacted (src/tool-failure.ts): never a raw error message. */
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
  /** Base URL of the support back office: /orders/{id}, /orders/{id}/refunds, /refund-policy, /refunds, /approvals, /alerts. */
  backOfficeUrl: string;
  apiToken?: string;
  timeoutMs?: number;
}

export function configFromEnv(): HttpDepsConfig {
  return { backOfficeUrl: process.env.BACK_OFFICE_URL ?? "", apiToken: process.env.BACK_OFFICE_TOKEN };
}

/**
 * The real dependencies: Bedrock for the model (BEDROCK_MODEL_ID) and JSON over HTTP for the back
 * office (BACK_OFFICE_URL). Configuration is read on each call, inside the step that makes it. Every
 * answer is parsed with a schema (src/back-office-answers.ts); an answer that does not fit is an error
 * naming what is wrong, never a value cast to a type.
 */
export function createRealDeps(config: () => HttpDepsConfig = configFromEnv): SupportDeps {
  const call = async (method: "GET" | "POST", path: string, body?: object, idempotencyKey?: string) => {
    const { backOfficeUrl, apiToken, timeoutMs = 10_000 } = config();
    if (!backOfficeUrl) throw new Error("BACK_OFFICE_URL is not set");
    const url = new URL(path, backOfficeUrl).toString();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          "content-type": "application/json",
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
          ...(apiToken ? { authorization: `Bearer ${apiToken}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new TransientServiceError(`${method} ${url} failed: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      throw new TransientServiceError(`${method} ${url} answered ${response.status}`, response.status);
    }
    if (response.status === 404) return { found: false as const, what: `${method} ${path}` };
    // The body is not echoed: a back office may repeat what it was sent, and errors end up in logs.
    if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}`);
    return { found: true as const, text, what: `${method} ${path}` };
  };
  const required = <T>(answer: Awaited<ReturnType<typeof call>>, read: (text: string, what: string) => T) => {
    if (!answer.found)
      throw new UnreadableAnswerError("The back office answered 404 for a call that must find");
    return read(answer.text, answer.what);
  };
  return {
    model: createBedrockModel(),
    orders: {
      find: async (orderId) => {
        const answer = await call("GET", `orders/${encodeURIComponent(orderId)}`);
        if (!answer.found) return undefined;
        const order = readAnswer(OrderAnswer, answer.text, answer.what);
        // A well-formed answer about another order is still not an answer to this question.
        if (order.orderId !== orderId)
          throw new UnreadableAnswerError(`${answer.what} answered with another order`);
        return order;
      },
      refundsPaid: async (orderId) => {
        const answer = await call("GET", `orders/${encodeURIComponent(orderId)}/refunds`);
        return answer.found ? readAnswer(PriorRefundsAnswer, answer.text, answer.what).refunds : [];
      },
    },
    refundPolicy: {
      evaluate: async (request) =>
        required(await call("POST", "refund-policy", request), (text, what) =>
          readAnswer(PolicyAnswer, text, what),
        ),
    },
    payments: {
      refund: async ({ idempotencyKey, ...request }) =>
        required(await call("POST", "refunds", request, idempotencyKey), (text, what) => {
          try {
            return readAnswer(RefundReceiptAnswer, text, what);
          } catch (error) {
            // A 2xx we cannot read: the refund may have been paid. The provider keeps each key's answer,
            // so the step's retry with the same key reads it again instead of paying twice.
            throw new TransientServiceError(
              `${(error as Error).message} (refund in doubt; retried with the same key)`,
            );
          }
        }),
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
          ),
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
          await call("POST", "approvals", request, approvalRequestKey(request.callbackId)),
          () => undefined,
        );
      },
    },
  };
}

/** The idempotency key of an approval request: a SHA-256 digest of its callback id, never the id. */
export function approvalRequestKey(callbackId: string): string {
  return `approval-${createHash("sha256").update(callbackId).digest("hex").slice(0, 32)}`;
}
