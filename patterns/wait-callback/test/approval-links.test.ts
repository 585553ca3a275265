import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpDeps, decisionLinks, HttpSettingError, type HttpDepsConfig } from "../src";
import { samplePurchase } from "../src/demo";

// decisionLinks on every shape of APPROVAL_PAGE_URL a user may configure: a path, a query, a hash route. The
// callback id must arrive in the fragment, where the approval page's script reads it and no server sees it.
const CB = "Ab3d+Ef9/hIj==#&?x";
const ENCODED = encodeURIComponent(CB);

describe("decisionLinks keeps the approval page's path, query and hash route", () => {
  it.each([
    [
      "no path",
      "https://approvals.example.com",
      "https://approvals.example.com/decide#callback=<id>&action=approve",
    ],
    [
      "a path with a trailing slash",
      "https://approvals.example.com/app/",
      "https://approvals.example.com/app/decide#callback=<id>&action=approve",
    ],
    [
      "a query",
      "https://approvals.example.com/app?tenant=acme",
      "https://approvals.example.com/app/decide?tenant=acme#callback=<id>&action=approve",
    ],
    [
      "a query and a trailing slash",
      "https://approvals.example.com/app/?tenant=acme&lang=de",
      "https://approvals.example.com/app/decide?tenant=acme&lang=de#callback=<id>&action=approve",
    ],
    [
      "a hash route",
      "https://approvals.example.com/#/purchasing",
      "https://approvals.example.com/#/purchasing/decide?callback=<id>&action=approve",
    ],
    [
      "a hash route with a trailing slash",
      "https://approvals.example.com/portal/#/purchasing/",
      "https://approvals.example.com/portal/#/purchasing/decide?callback=<id>&action=approve",
    ],
    [
      "a hashbang route",
      "https://approvals.example.com/#!/purchasing",
      "https://approvals.example.com/#!/purchasing/decide?callback=<id>&action=approve",
    ],
    [
      "a query and a hash route with its own query",
      "https://approvals.example.com/app?tenant=acme#/purchasing?lang=de",
      "https://approvals.example.com/app?tenant=acme#/purchasing/decide?lang=de&callback=<id>&action=approve",
    ],
    [
      "an empty fragment",
      "https://approvals.example.com/app#",
      "https://approvals.example.com/app/decide#callback=<id>&action=approve",
    ],
  ])("a page URL with %s", (_, page, approve) => {
    const links = decisionLinks(page, CB);
    expect(links.approve).toBe(approve.replace("<id>", ENCODED));
    expect(links.reject).toBe(approve.replace("<id>", ENCODED).replace("action=approve", "action=reject"));
    expect(links.moreTime).toBe(
      approve.replace("<id>", ENCODED).replace("action=approve", "action=more-time"),
    );
    const base = new URL(page);
    for (const link of [links.approve, links.reject, links.moreTime]) {
      const url = new URL(link);
      // One fragment, the page's query untouched, the callback id only in the fragment.
      expect(link.split("#")).toHaveLength(2);
      expect(url.search).toBe(base.search);
      expect(url.origin + url.pathname + url.search).not.toContain(ENCODED);
      // What the page's script reads: the fragment's parameters (for a hash route, the route's query).
      const fragment = url.hash.slice(1);
      const params = new URLSearchParams(
        fragment.includes("?") ? fragment.slice(fragment.indexOf("?") + 1) : fragment,
      );
      expect(params.getAll("callback")).toEqual([CB]);
      expect(params.getAll("action")).toHaveLength(1);
    }
  });

  it.each([
    ["a fragment that is not a hash route", "https://approvals.example.com/app#top", /not a hash route/],
    [
      "its own callback parameter",
      "https://approvals.example.com/app?callback=x",
      /callback or action parameter/,
    ],
    [
      "its own action parameter in the hash route",
      "https://approvals.example.com/#/buy?action=approve",
      /callback or action parameter/,
    ],
    ["no http(s) scheme", "ftp://approvals.example.com/app", /must be http\(s\)/],
    ["no URL at all", "approvals.example.com/app", /not a URL/],
  ])("a page URL with %s is refused with an HttpSettingError", (_, page, message) => {
    expect(() => decisionLinks(page, CB)).toThrow(HttpSettingError);
    expect(() => decisionLinks(page, CB)).toThrow(message);
  });
});

describe("an approval page URL the links cannot be built on", () => {
  let server: Server;
  let baseUrl: string;
  const received: { method: string; url: string; headers: IncomingMessage["headers"] }[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers });
      request.resume();
      request.on("end", () =>
        response.writeHead(201, { "content-type": "application/json" }).end('{"reference":"REF-1"}'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (received.length = 0));
  const config = (approvalPageUrl: string) => (): HttpDepsConfig => ({
    chatWebhookUrl: async () => `${baseUrl}/hooks/T0/SECRET-WEBHOOK`,
    approvalPageUrl,
    purchasingUrl: `${baseUrl}/purchasing/`,
    supplierUrl: `${baseUrl}/supplier/`,
    apiToken: async () => "tok-1",
  });

  it("fails the submission naming APPROVAL_PAGE_URL, before purchasing gets anything", async () => {
    const deps = createHttpDeps(config("https://approvals.example.com/app#top"));
    const submitting = deps.purchasing.submit({ request: samplePurchase, idempotencyKey: "PR-2042:submit" });
    await expect(submitting).rejects.toThrow(HttpSettingError);
    await expect(submitting).rejects.toThrow(/APPROVAL_PAGE_URL.*not a hash route/);
    expect(received).toEqual([]);
  });

  it("fails a decision request naming APPROVAL_PAGE_URL, before the webhook gets anything", async () => {
    const deps = createHttpDeps(config("https://approvals.example.com/app?action=approve"));
    const asking = deps.approvals.askForDecision({
      kind: "approval",
      approver: samplePurchase.approvers.manager,
      callbackId: CB,
      acceptsHeartbeat: true,
      request: samplePurchase,
      idempotencyKey: "PR-2042:notify-manager:x",
    });
    await expect(asking).rejects.toThrow(/APPROVAL_PAGE_URL.*callback or action parameter/);
    expect(received).toEqual([]);
  });

  it("sends a page URL with a query and a hash route whole in the message", async () => {
    const deps = createHttpDeps(config("https://approvals.example.com/app?tenant=acme#/purchasing"));
    let body = "";
    server.once("request", (request: IncomingMessage) =>
      request.on("data", (c: Buffer) => (body += c.toString())),
    );
    await deps.approvals.askForDecision({
      kind: "approval",
      approver: samplePurchase.approvers.manager,
      callbackId: CB,
      acceptsHeartbeat: false,
      request: samplePurchase,
      idempotencyKey: "PR-2042:notify-manager:x",
    });
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /hooks/T0/SECRET-WEBHOOK"]);
    const text = (JSON.parse(body) as { text: string }).text;
    expect(text).toContain(
      `Approve: https://approvals.example.com/app?tenant=acme#/purchasing/decide?callback=${ENCODED}&action=approve`,
    );
    expect(text).toContain(
      `Reject: https://approvals.example.com/app?tenant=acme#/purchasing/decide?callback=${ENCODED}&action=reject`,
    );
  });
});
