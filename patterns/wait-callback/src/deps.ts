import type { Person, PurchaseRequest } from "./input";

/**
 * The outside world of the purchase workflow. Every call here is a side effect, so the workflow makes each one
 * inside a step (or a waitForCallback submitter, which is a step). Requests carry an idempotency key derived
 * from the request id: a retried step sends the same key, and the service must not act twice.
 */
export interface DecisionRequest {
  /** approval: first ask; escalation: the manager did not answer; reminder: the director has not answered yet. */
  kind: "approval" | "escalation" | "reminder";
  approver: Person;
  /** A bearer token: whoever holds it can decide. Send it to the approver only, and never log it whole. */
  callbackId: string;
  request: PurchaseRequest;
  reminderNumber?: number;
  idempotencyKey: string;
}

export interface ApprovalChannel {
  /** Puts the request in front of the approver with a way to answer (links that carry the callback id). */
  askForDecision(message: DecisionRequest): Promise<void>;
}

export type Decision = "APPROVED" | "DECLINED";

export interface Purchasing {
  submit(request: { request: PurchaseRequest; idempotencyKey: string }): Promise<{ reference: string }>;
  /** Stores the decision and tells the requester. */
  recordDecision(request: {
    requestId: string;
    reference: string;
    decision: Decision;
    detail: string;
    idempotencyKey: string;
  }): Promise<void>;
}

export type JobState = "QUEUED" | "IN_PROGRESS" | "SHIPPED" | "FAILED";
export interface JobStatus {
  state: JobState;
  trackingNumber?: string;
  detail?: string;
}

export interface Supplier {
  /** Starts a fulfilment job at the supplier; it takes hours to days, so the workflow polls it. */
  placeOrder(request: {
    requestId: string;
    supplier: string;
    description: string;
    quantity: number;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ jobId: string }>;
  jobStatus(request: { jobId: string }): Promise<JobStatus>;
}

export interface PurchaseDeps {
  approvals: ApprovalChannel;
  purchasing: Purchasing;
  supplier: Supplier;
}

/**
 * A callback id is a credential: anyone who has it can approve the purchase. Logs show enough to tell two
 * callbacks apart, never enough to use one.
 */
export function redactCallbackId(callbackId: string): string {
  return `${callbackId.slice(0, 6)}…(${callbackId.length} chars)`;
}

/** A service said no for good (4xx): retrying the same request cannot help. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  constructor(
    message = "Client error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The service was unavailable, throttled us or timed out (5xx, 429, network): the same request may work later.
 * Arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as `new () => Error`.
 */
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
  /** A chat incoming-webhook URL (Slack-compatible: POST {"text": ...}). It is a secret too: never logged. */
  chatWebhookUrl: string;
  /** Your approval page. Links are `<approvalPageUrl>/callbacks/<callback id>/<approve|reject|more-time>`. */
  approvalPageUrl: string;
  purchasingUrl: string;
  supplierUrl: string;
  /** Sent as a bearer token to the purchasing and supplier APIs, if set. */
  apiToken?: string;
  /** Abort a request after this long; an abort counts as transient. */
  timeoutMs?: number;
}

/**
 * The real dependencies: the approver gets a chat message with three links to your approval page, which
 * authenticates the person and then completes the callback (see scripts/send-callback.ts for the three calls);
 * purchasing and the supplier are JSON over HTTP. Configuration is read on each call, so inside the step that
 * makes it, never at import or replay time.
 */
export function createHttpDeps(config: () => HttpDepsConfig = configFromEnv): PurchaseDeps {
  const setting = (name: "chatWebhookUrl" | "approvalPageUrl" | "purchasingUrl" | "supplierUrl") => {
    const value = config()[name];
    if (!value) throw new ClientError(`No ${name} configured`);
    return value;
  };
  // async, so a missing setting rejects like any other failure of the call instead of throwing synchronously.
  const api = async <T>(
    method: "GET" | "POST",
    base: "purchasingUrl" | "supplierUrl",
    path: string,
    options: ApiOptions = {},
  ) =>
    requestJson<T>(method, new URL(path, setting(base)).toString(), {
      ...options,
      apiToken: config().apiToken,
      timeoutMs: config().timeoutMs ?? 10_000,
    });

  return {
    approvals: {
      askForDecision: async (message) => {
        const links = decisionLinks(setting("approvalPageUrl"), message.callbackId);
        await requestJson("POST", setting("chatWebhookUrl"), {
          body: { text: chatText(message, links) },
          idempotencyKey: message.idempotencyKey,
          timeoutMs: config().timeoutMs ?? 10_000,
          // The webhook URL is a secret: errors name the service, not the URL.
          label: "chat webhook",
        });
      },
    },
    purchasing: {
      submit: ({ request, idempotencyKey }) =>
        api<{ reference: string }>("POST", "purchasingUrl", "purchase-requests", {
          body: request,
          idempotencyKey,
        }),
      recordDecision: async ({ requestId, idempotencyKey, ...decision }) => {
        await api("POST", "purchasingUrl", `purchase-requests/${encodeURIComponent(requestId)}/decision`, {
          body: decision,
          idempotencyKey,
        });
      },
    },
    supplier: {
      placeOrder: ({ idempotencyKey, ...order }) =>
        api<{ jobId: string }>("POST", "supplierUrl", "orders", { body: order, idempotencyKey }),
      jobStatus: ({ jobId }) => api<JobStatus>("GET", "supplierUrl", `orders/${encodeURIComponent(jobId)}`),
    },
  };
}

export function configFromEnv(): HttpDepsConfig {
  return {
    chatWebhookUrl: process.env.APPROVAL_CHAT_WEBHOOK_URL ?? "",
    approvalPageUrl: process.env.APPROVAL_PAGE_URL ?? "",
    purchasingUrl: process.env.PURCHASING_API_URL ?? "",
    supplierUrl: process.env.SUPPLIER_API_URL ?? "",
    apiToken: process.env.PURCHASING_API_TOKEN,
  };
}

export function decisionLinks(approvalPageUrl: string, callbackId: string) {
  const base = approvalPageUrl.replace(/\/+$/, "");
  const link = (action: string) => `${base}/callbacks/${encodeURIComponent(callbackId)}/${action}`;
  return { approve: link("approve"), reject: link("reject"), moreTime: link("more-time") };
}

function chatText(message: DecisionRequest, links: ReturnType<typeof decisionLinks>): string {
  const { request } = message;
  const amount = `${(request.amountCents / 100).toFixed(2)} ${request.currency}`;
  const opening = {
    approval: `${message.approver.name}, please approve a purchase`,
    escalation: `${message.approver.name}, ${request.approvers.manager.name} did not answer in time: please approve a purchase`,
    reminder: `Reminder ${message.reminderNumber ?? ""}: ${message.approver.name}, a purchase is waiting for you`,
  }[message.kind];
  return [
    `${opening} (${request.requestId}).`,
    `${request.requester.name} asks for ${request.item.quantity} x ${request.item.description} from ${request.item.supplier}: ${amount}.`,
    `Approve: ${links.approve}`,
    `Reject: ${links.reject}`,
    `Need more time: ${links.moreTime}`,
  ].join("\n");
}

interface ApiOptions {
  body?: unknown;
  idempotencyKey?: string;
}

async function requestJson<T>(
  method: "GET" | "POST",
  url: string,
  options: ApiOptions & { apiToken?: string; timeoutMs: number; label?: string },
): Promise<T> {
  const label = options.label ?? `${method} ${url}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...(options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : {}),
        ...(options.apiToken ? { authorization: `Bearer ${options.apiToken}` } : {}),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new TransientServiceError(`${label} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (response.status === 429 || response.status >= 500) {
    throw new TransientServiceError(`${label} answered ${response.status}`, response.status);
  }
  if (!response.ok)
    throw new ClientError(`${label} answered ${response.status}: ${text.slice(0, 200)}`, response.status);
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    // Chat webhooks often answer a plain "ok".
    return text as T;
  }
}
