import { createBedrockModel } from "./bedrock";
import type { ModelProvider } from "./model";

/**
 * The outside world of the support agent. Every call is a side effect, so the workflow makes each one
 * inside a step (or, for the approval request, inside waitForCallback's submitter).
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

export type RefundReason = "damaged" | "not-delivered" | "wrong-item" | "changed-mind";

export interface PolicyDecision {
  eligible: boolean;
  maxRefundCents: number;
  explanation: string;
}

export interface Orders {
  /** The order, or undefined when there is none with that id. */
  find(orderId: string): Promise<Order | undefined>;
}
export interface RefundPolicy {
  evaluate(request: { order: Order; reason: RefundReason }): Promise<PolicyDecision>;
}
export interface Payments {
  refund(request: {
    orderId: string;
    amountCents: number;
    currency: string;
    reason: string;
    idempotencyKey: string;
  }): Promise<{ refundId: string }>;
}
export interface Approvals {
  /** Ask a person to approve a refund. They answer by completing the callback with this id. */
  requestApproval(request: {
    callbackId: string;
    orderId: string;
    customerId: string;
    amountCents: number;
    currency: string;
    reason: string;
  }): Promise<void>;
}

export interface SupportDeps {
  model: ModelProvider;
  orders: Orders;
  refundPolicy: RefundPolicy;
  payments: Payments;
  approvals: Approvals;
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
  /** Base URL of the support back office: /orders/{id}, /refund-policy, /refunds, /approvals. */
  backOfficeUrl: string;
  apiToken?: string;
  timeoutMs?: number;
}

export function configFromEnv(): HttpDepsConfig {
  return { backOfficeUrl: process.env.BACK_OFFICE_URL ?? "", apiToken: process.env.BACK_OFFICE_TOKEN };
}

/**
 * The real dependencies: Bedrock for the model (BEDROCK_MODEL_ID) and JSON over HTTP for the back
 * office (BACK_OFFICE_URL). Configuration is read on each call, inside the step that makes it.
 */
export function createRealDeps(config: () => HttpDepsConfig = configFromEnv): SupportDeps {
  const call = async <T>(method: "GET" | "POST", path: string, body?: object, idempotencyKey?: string) => {
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
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  };
  return {
    model: createBedrockModel(),
    orders: { find: (orderId) => call<Order>("GET", `orders/${encodeURIComponent(orderId)}`) },
    refundPolicy: {
      evaluate: async (request) =>
        required(await call<PolicyDecision>("POST", "refund-policy", request), "refund-policy"),
    },
    payments: {
      refund: async ({ idempotencyKey, ...request }) =>
        required(await call<{ refundId: string }>("POST", "refunds", request, idempotencyKey), "refunds"),
    },
    approvals: {
      requestApproval: async (request) => {
        await call("POST", "approvals", request, request.callbackId);
      },
    },
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The back office answered ${what} with nothing`);
  return value;
}
