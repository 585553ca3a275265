import { createHash } from "node:crypto";
import type * as z from "zod/mini";
import { classifyStatus } from "./call-outcome";
import { chatText, formatAmount } from "./chat-text";
import { ClientError, MalformedResponseError, TransientServiceError } from "./errors";
import type { Person, PurchaseRequest } from "./input";
import { checkedAnswer, JobStatusResponse, OrderResponse, SubmitResponse } from "./provider-answers";

export { ClientError, MalformedResponseError, TransientServiceError } from "./errors";

/**
 * The outside world of the purchase workflow. Every call here is a side effect, so the workflow makes each one
 * inside a step. Requests carry an idempotency key derived from the request id (idempotency.ts): a retried step sends the same key, and the service must not act twice.
 */
export interface DecisionRequest {
  /**
   * approval: first ask; escalation: the manager did not answer; reminder: the director has not answered yet;
   * again: an answer to the previous link was refused (see previousAnswer), here is a new one.
   */
  kind: "approval" | "escalation" | "reminder" | "again";
  approver: Person;
  /** A bearer token: whoever holds it can decide. Send it to the approver only, and never log it. */
  callbackId: string;
  /** The callback has a heartbeat timeout: offer a "need more time" link. Otherwise the link would fail. */
  acceptsHeartbeat: boolean;
  request: PurchaseRequest;
  reminderNumber?: number;
  /** For kind "again": why the previous answer was refused. Only these fixed words reach the chat. */
  previousAnswer?: "NOT_ASKED" | "MALFORMED";
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
 * A callback id is a credential: anyone who has it can approve the purchase. Logs show a fingerprint (a hash)
 * that tells two callbacks apart and gives away no part of the id.
 */
export function redactCallbackId(callbackId: string): string {
  return `callback#${createHash("sha256").update(callbackId).digest("hex").slice(0, 12)}`;
}

export interface HttpDepsConfig {
  /** A chat incoming-webhook URL (Slack-compatible: POST {"text": ...}). It is a secret too: never logged. */
  chatWebhookUrl: string;
  /** Your approval page. Links are `<approvalPageUrl>/decide#callback=<callback id>&action=<approve|...>`. */
  approvalPageUrl: string;
  purchasingUrl: string;
  supplierUrl: string;
  /** Sent as a bearer token to the purchasing and supplier APIs, if set. */
  apiToken?: string;
  /** Abort a request after this long; an abort counts as transient. */
  timeoutMs?: number;
}

/**
 * The real dependencies: the approver gets a chat message with links to your approval page, which
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
    response: z.ZodMiniType<T> | undefined,
    options: ApiOptions = {},
  ): Promise<T | undefined> => {
    const text = await request(method, joinUrl(setting(base), path), {
      ...options,
      apiToken: config().apiToken,
      timeoutMs: config().timeoutMs ?? 10_000,
    });
    return response === undefined ? undefined : parseResponse(`${method} ${path}`, text, response);
  };
  const parsed = async <T>(answer: Promise<T | undefined>): Promise<T> => (await answer) as T;

  return {
    approvals: {
      askForDecision: async (message) => {
        const links = decisionLinks(setting("approvalPageUrl"), message.callbackId);
        // The answer is ignored (webhooks say "ok"): the 2xx is all we need.
        await request("POST", setting("chatWebhookUrl"), {
          body: { text: decisionMessage(message, links) },
          idempotencyKey: message.idempotencyKey,
          timeoutMs: config().timeoutMs ?? 10_000,
          // The webhook URL is a secret, and a webhook's error body may quote our message, links and callback
          // id included: errors name the service and the status only.
          label: "chat webhook",
          quoteBody: false,
        });
      },
    },
    purchasing: {
      submit: ({ request, idempotencyKey }) =>
        parsed(
          api("POST", "purchasingUrl", "purchase-requests", SubmitResponse, {
            body: request,
            idempotencyKey,
          }),
        ),
      recordDecision: async ({ requestId, idempotencyKey, ...decision }) => {
        // Nothing in the answer is read, so nothing in it is trusted either.
        await api(
          "POST",
          "purchasingUrl",
          `purchase-requests/${encodeURIComponent(requestId)}/decision`,
          undefined,
          {
            body: decision,
            idempotencyKey,
          },
        );
      },
    },
    supplier: {
      placeOrder: ({ idempotencyKey, ...order }) =>
        parsed(api("POST", "supplierUrl", "orders", OrderResponse, { body: order, idempotencyKey })),
      jobStatus: async ({ jobId }) => {
        const status = await parsed(
          api("GET", "supplierUrl", `orders/${encodeURIComponent(jobId)}`, JobStatusResponse),
        );
        const { state, detail } = status;
        return {
          state,
          ...(status.state === "SHIPPED" ? { trackingNumber: status.trackingNumber } : {}),
          ...(detail === undefined ? {} : { detail }),
        };
      },
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

/**
 * The links in the approver's message. The callback id travels in the fragment (after `#`), which browsers
 * never send to a server: it stays out of the approval page's access logs, proxies and Referer headers, and the
 * page's script reads it and posts it with the signed-in person's answer.
 */
export function decisionLinks(approvalPageUrl: string, callbackId: string) {
  const base = approvalPageUrl.replace(/\/+$/, "");
  const link = (action: string) =>
    `${base}/decide#callback=${encodeURIComponent(callbackId)}&action=${action}`;
  return { approve: link("approve"), reject: link("reject"), moreTime: link("more-time") };
}

/**
 * The chat message. Everything the requester wrote goes through chatText (escaped for the medium, one line,
 * bounded) and is labelled as theirs; only the workflow's own lines start with "Approve:" or "Reject:".
 */
export function decisionMessage(message: DecisionRequest, links: ReturnType<typeof decisionLinks>): string {
  const { request } = message;
  const name = (person: Person) => chatText(person.name, 60);
  const opening = {
    approval: `${name(message.approver)}, please approve a purchase`,
    escalation: `${name(message.approver)}, ${name(request.approvers.manager)} did not answer in time: please approve a purchase`,
    reminder: `Reminder ${message.reminderNumber ?? ""}: ${name(message.approver)}, a purchase is waiting for you`,
    again: `${name(message.approver)}, an answer to your earlier link was refused (${
      message.previousAnswer === "NOT_ASKED" ? "it was not sent by you" : "it could not be read"
    }). That link no longer works: please decide with these`,
  }[message.kind];
  return [
    `${opening} (${request.requestId}).`,
    `${name(request.requester)} asks for ${request.item.quantity} x "${chatText(request.item.description, 200)}" from "${chatText(request.item.supplier, 100)}": ${formatAmount(request.amountCents, request.currency)}. (Quoted text is the requester's own.)`,
    `Approve: ${links.approve}`,
    `Reject: ${links.reject}`,
    // Only a callback with a heartbeat timeout accepts a heartbeat: elsewhere the link could only fail.
    ...(message.acceptsHeartbeat ? [`Need more time: ${links.moreTime}`] : []),
  ].join("\n");
}

interface ApiOptions {
  body?: unknown;
  idempotencyKey?: string;
}

/** Sends the request; returns the body of a 2xx as text, throws ClientError or TransientServiceError otherwise. */
async function request(
  method: "GET" | "POST",
  url: string,
  options: ApiOptions & { apiToken?: string; timeoutMs: number; label?: string; quoteBody?: boolean },
): Promise<string> {
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
      // A redirect is answered, not followed: a POST repeated elsewhere would carry our key and token.
      redirect: "manual",
    });
  } catch (error) {
    throw new TransientServiceError(`${label} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  const outcome = classifyStatus(response.status);
  if (outcome.outcome === "done") return text;
  if (outcome.retry) throw new TransientServiceError(`${label} answered ${response.status}`, response.status);
  const quoted = options.quoteBody === false ? "" : `: ${text.slice(0, 200)}`;
  throw new ClientError(`${label} answered ${response.status}${quoted}`, response.status);
}

function parseResponse<T>(label: string, text: string, schema: z.ZodMiniType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MalformedResponseError(`${label} answered with a body that is not JSON`);
  }
  return checkedAnswer(label, json, schema);
}

/**
 * `path` under the configured base URL, with or without its trailing slash: `new URL("purchase-requests",
 * "https://host/purchasing")` would drop `/purchasing` and send the request, and its token, elsewhere.
 */
export function joinUrl(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
}
