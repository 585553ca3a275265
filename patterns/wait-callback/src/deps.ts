import { createHash } from "node:crypto";
import type * as z from "zod/mini";
import { classifyStatus } from "./call-outcome";
import { chatText, formatAmount } from "./chat-text";
import { ClientError, MalformedResponseError, NotSentError, TransientServiceError } from "./errors";
import { endpoint, httpCall, HttpSettingError, type HttpCall } from "./http-call";
import type { Person, PurchaseRequest } from "./input";
import { checkedAnswer, JobStatusResponse, OrderResponse, SubmitResponse } from "./provider-answers";
import { secretSetting } from "./secret-setting";

export { ClientError, MalformedResponseError, NotSentError, TransientServiceError } from "./errors";
export { HttpSettingError } from "./http-call";
export { SecretSettingError } from "./secret-setting";

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
  /**
   * Reads the chat incoming-webhook URL (Slack-compatible: POST {"text": ...}). A secret: its key is in it, so it
   * is read when a message is sent, never kept in the environment, and never named in an error or log line.
   */
  chatWebhookUrl: () => Promise<string>;
  /**
   * Your approval page. Links are `<approvalPageUrl>/decide#callback=<callback id>&action=<approve|...>`, its
   * query and hash route kept (see decisionLinks).
   */
  approvalPageUrl: string;
  purchasingUrl: string;
  supplierUrl: string;
  /** Reads the bearer token sent to the purchasing and supplier APIs; `undefined` sends none. A secret too. */
  apiToken: () => Promise<string | undefined>;
  /** Abort a request after this long; an abort counts as in doubt. */
  timeoutMs?: number;
}

type PlainSetting = "approvalPageUrl" | "purchasingUrl" | "supplierUrl";

/** The environment variable each setting comes from in the deployed function (configFromEnv). */
const FROM_ENV: Record<PlainSetting | "chatWebhookUrl", string> = {
  approvalPageUrl: "APPROVAL_PAGE_URL",
  purchasingUrl: "PURCHASING_API_URL",
  supplierUrl: "SUPPLIER_API_URL",
  chatWebhookUrl: "APPROVAL_CHAT_WEBHOOK_URL",
};

/** A path each plain URL is used with ("" for the approval page, which is not called). */
const FIRST_PATH: Record<PlainSetting, string> = {
  approvalPageUrl: "",
  purchasingUrl: "purchase-requests",
  supplierUrl: "orders",
};

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The real dependencies: the approver gets a chat message with links to your approval page, which
 * authenticates the person and then completes the callback (see scripts/send-callback.ts for the three calls);
 * purchasing and the supplier are JSON over HTTP (src/http-call.ts). Configuration, secrets included, is read on
 * each call, so inside the step that makes it, never at import or replay time.
 */
export function createHttpDeps(config: () => HttpDepsConfig = configFromEnv): PurchaseDeps {
  const plain = (name: PlainSetting): string => {
    const value = config()[name];
    if (!value) throw new HttpSettingError(`No ${name} configured (${FROM_ENV[name]})`);
    // Checked like every URL the HTTP client takes (http(s), no credentials in it), and as it will be used: an
    // API's base URL with one of its paths (the client refuses a query there), the approval page's links built
    // on it (a query, a hash route). So submit-request refuses a wrong one before anything is sent.
    settingChecked(name, () => endpoint(value, FIRST_PATH[name]));
    if (name === "approvalPageUrl") settingChecked(name, () => approvalPage(value));
    return value;
  };
  const webhookUrl = async (): Promise<string> => {
    const url = await config().chatWebhookUrl();
    settingChecked("chatWebhookUrl", () => endpoint(url, ""));
    return url;
  };
  // async, so a missing setting rejects like any other failure of the call instead of throwing synchronously.
  const api = async (
    method: "GET" | "POST",
    base: "purchasingUrl" | "supplierUrl",
    path: string,
    options: { body?: unknown; idempotencyKey?: string; bodyIgnored?: boolean } = {},
  ): Promise<unknown> => {
    const baseUrl = plain(base);
    // Read here, in the step that makes the call; Powertools keeps it for a few minutes per sandbox.
    const token = await config().apiToken();
    const { bodyIgnored = false, ...sent } = options;
    return send(
      {
        baseUrl,
        path,
        method,
        ...sent,
        ...(token === undefined ? {} : { token }),
        timeoutMs: config().timeoutMs ?? DEFAULT_TIMEOUT_MS,
      },
      { setting: base, name: `${method} ${path}`, quoteBody: true, bodyIgnored },
    );
  };
  const answer = async <T>(label: string, call: Promise<unknown>, schema: z.ZodMiniType<T>): Promise<T> => {
    const value = await call;
    if (value === undefined)
      throw new MalformedResponseError(`${label} answered with a body that is not JSON`);
    return checkedAnswer(label, value, schema);
  };

  return {
    approvals: {
      askForDecision: async (message) => {
        const links = decisionLinks(plain("approvalPageUrl"), message.callbackId);
        // The answer is ignored (webhooks say "ok"): the 2xx is all we need.
        await send(
          {
            baseUrl: await webhookUrl(),
            path: "",
            // The webhook URL is a secret: the call is named by this label, and the URL never appears.
            label: "chat webhook",
            method: "POST",
            body: { text: decisionMessage(message, links) },
            idempotencyKey: message.idempotencyKey,
            timeoutMs: config().timeoutMs ?? DEFAULT_TIMEOUT_MS,
            maxAnswerBytes: 4096,
          },
          // A webhook's error body may quote our message, links and callback id included: errors name the
          // service and the status only.
          { setting: "chatWebhookUrl", name: "chat webhook", quoteBody: false, bodyIgnored: true },
        );
      },
    },
    purchasing: {
      submit: async ({ request, idempotencyKey }) => {
        // Every setting the request will need is checked before it is recorded anywhere: a request that could
        // never be sent to an approver or ordered fails here, with nothing done.
        plain("approvalPageUrl");
        plain("supplierUrl");
        await webhookUrl();
        return answer(
          "POST purchase-requests",
          api("POST", "purchasingUrl", "purchase-requests", { body: request, idempotencyKey }),
          SubmitResponse,
        );
      },
      recordDecision: async ({ requestId, idempotencyKey, ...decision }) => {
        // Nothing in the answer is read, so nothing in it is trusted either: any 2xx is done.
        await api("POST", "purchasingUrl", `purchase-requests/${encodeURIComponent(requestId)}/decision`, {
          body: decision,
          idempotencyKey,
          bodyIgnored: true,
        });
      },
    },
    supplier: {
      placeOrder: ({ idempotencyKey, ...order }) =>
        answer(
          "POST orders",
          api("POST", "supplierUrl", "orders", { body: order, idempotencyKey }),
          OrderResponse,
        ),
      jobStatus: async ({ jobId }) => {
        const label = `GET orders/${encodeURIComponent(jobId)}`;
        const status = await answer(
          label,
          api("GET", "supplierUrl", `orders/${encodeURIComponent(jobId)}`),
          JobStatusResponse,
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

/**
 * The deployed function's configuration: plain settings from the environment, secrets from Secrets Manager
 * (src/secret-setting.ts: the environment holds only `<SETTING>_SECRET_ARN`; a secret set in plain text there
 * is refused). Called inside the step that makes a call, as every read of the configuration is.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HttpDepsConfig {
  return {
    chatWebhookUrl: async () => (await secretSetting(FROM_ENV.chatWebhookUrl, { required: true, env })) ?? "",
    approvalPageUrl: env.APPROVAL_PAGE_URL ?? "",
    purchasingUrl: env.PURCHASING_API_URL ?? "",
    supplierUrl: env.SUPPLIER_API_URL ?? "",
    apiToken: () => secretSetting("PURCHASING_API_TOKEN", { required: false, env }),
  };
}

/**
 * The links in the approver's message. The callback id travels in the fragment (after `#`), which browsers
 * never send to a server: it stays out of the approval page's access logs, proxies and Referer headers, and the
 * page's script reads it and posts it with the signed-in person's answer.
 *
 * The page URL's path, query and hash route are kept, so the link opens the page you configured:
 *
 * | APPROVAL_PAGE_URL                        | approve link                                                           |
 * | ---------------------------------------- | ---------------------------------------------------------------------- |
 * | `https://approvals.example.com/app/`     | `https://approvals.example.com/app/decide#callback=<id>&action=approve` |
 * | `https://approvals.example.com/app?t=1`  | `https://approvals.example.com/app/decide?t=1#callback=<id>&action=approve` |
 * | `https://approvals.example.com/#/buy`    | `https://approvals.example.com/#/buy/decide?callback=<id>&action=approve` |
 *
 * A hash route (`#/...` or `#!/...`, a single-page app's router) gets `/decide` and the two parameters in the
 * route, still inside the fragment. Any other fragment, and a `callback` or `action` parameter of the page's own
 * (the page could not tell it from the link's), cannot carry the links: an HttpSettingError, thrown by
 * `submit-request` before anything is sent.
 */
export function decisionLinks(approvalPageUrl: string, callbackId: string) {
  const page = approvalPage(approvalPageUrl);
  const link = (action: string) => page(`callback=${encodeURIComponent(callbackId)}&action=${action}`);
  return { approve: link("approve"), reject: link("reject"), moreTime: link("more-time") };
}

/** The page URL's shape, checked: a function from the link's parameters to the link. */
function approvalPage(approvalPageUrl: string): (parameters: string) => string {
  let url: URL;
  try {
    url = new URL(approvalPageUrl);
  } catch {
    throw new HttpSettingError("the approval page URL is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HttpSettingError("the approval page URL must be http(s)");
  }
  const taken = (query: string) => {
    const names = [...new URLSearchParams(query).keys()];
    if (names.includes("callback") || names.includes("action")) {
      throw new HttpSettingError(
        "the approval page URL must not have a callback or action parameter: the links add their own",
      );
    }
  };
  taken(url.search);
  const path = `${url.pathname.replace(/\/+$/, "")}/decide`;
  const fragment = url.hash.slice(1);
  if (fragment === "") {
    return (parameters) => `${url.origin}${path}${url.search}#${parameters}`;
  }
  const route = /^(!?\/[^?]*)(?:\?(.*))?$/.exec(fragment);
  if (!route) {
    throw new HttpSettingError(
      "the approval page URL has a fragment that is not a hash route (#/...): the links put the callback id in the fragment",
    );
  }
  const [, routePath = "", routeQuery = ""] = route;
  taken(routeQuery);
  const routed = `${routePath.replace(/\/+$/, "")}/decide?${routeQuery === "" ? "" : `${routeQuery}&`}`;
  return (parameters) => `${url.origin}${url.pathname}${url.search}#${routed}${parameters}`;
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

/**
 * Makes the call (src/http-call.ts) and turns what happened into this pattern's outcome (call-outcome.ts): the
 * 2xx body, or the error class the classification reads. Every text taken from the provider is the call's
 * bounded, one-line excerpt with the token cut out; a webhook's is never quoted.
 *
 * | what happened                              | thrown                                                    |
 * | ------------------------------------------ | --------------------------------------------------------- |
 * | 2xx, JSON (or empty)                       | nothing: the parsed body (undefined when empty)           |
 * | 2xx, not JSON, too large, cut off          | MalformedResponseError (in doubt), unless the body is ignored |
 * | another status (3xx too: not followed)     | the status table: TransientServiceError or ClientError    |
 * | the connection was never made              | NotSentError (not done, retried)                          |
 * | timed out, or the connection broke after   | TransientServiceError (in doubt, retried)                 |
 * | the URL cannot be used                     | HttpSettingError naming the setting, before anything is sent |
 */
async function send(
  request: HttpCall<unknown>,
  how: {
    setting: PlainSetting | "chatWebhookUrl";
    name: string;
    quoteBody: boolean;
    /** The body is not read (the webhook's "ok", the decision record's answer): any 2xx is done. */
    bodyIgnored: boolean;
  },
): Promise<unknown> {
  const result = await settingCheckedAsync(how.setting, () => httpCall(request));
  switch (result.kind) {
    case "answered":
      return result.value;
    case "malformed":
      if (how.bodyIgnored) return undefined;
      // Named by what was wrong, never by the body (the excerpt says "not JSON: <the body>").
      throw new MalformedResponseError(
        result.excerpt.startsWith("not JSON")
          ? `${how.name} answered with a body that is not JSON`
          : `${how.name} answered ${result.status} with a body we cannot read (${result.excerpt})`,
      );
    case "status": {
      if (classifyStatus(result.status).retry) {
        throw new TransientServiceError(`${result.call} answered ${result.status}`, result.status);
      }
      const quoted = how.quoteBody && result.excerpt !== "" ? `: ${result.excerpt}` : "";
      throw new ClientError(`${result.call} answered ${result.status}${quoted}`, result.status);
    }
    case "not-sent":
      throw new NotSentError(`${result.call} failed: not sent (${result.code}) ${result.excerpt}`.trim());
    case "timed-out":
      throw new TransientServiceError(
        `${result.call} failed: no answer within ${request.timeoutMs} ms (it may have been acted on)`,
      );
    case "lost":
      throw new TransientServiceError(
        `${result.call} failed: the connection broke after it was made (${result.code}) ${result.excerpt}`.trim(),
      );
  }
}

/** An HttpSettingError says what is wrong with a URL, never the URL (it may be a secret): here, which one. */
function settingChecked<T>(setting: PlainSetting | "chatWebhookUrl", check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw namedSettingError(setting, error);
  }
}
async function settingCheckedAsync<T>(
  setting: PlainSetting | "chatWebhookUrl",
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw namedSettingError(setting, error);
  }
}
function namedSettingError(setting: PlainSetting | "chatWebhookUrl", error: unknown): unknown {
  if (!(error instanceof HttpSettingError)) return error;
  return new HttpSettingError(`calling ${setting} (${FROM_ENV[setting]}): ${error.message}`);
}
