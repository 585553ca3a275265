/**
 * A hostile review of the pattern, kept as part of the suite: the same batch run twice, lost and forged answers,
 * one item poisoning the batch, what the report claims, and the real deps' secrets. After each run the provider's
 * own books (emails sent, documents stored, requests received) are checked against the report: every invoice in
 * exactly one list, each one reported sent emailed once at its amount, the sent total the sum of those emails.
 *
 * The in-memory world here is not the demo's simulatedWorld (src/demo.ts) because the tests need what that one
 * does not offer: a hook on every delivery attempt that runs before the email (nothing sent) or after it (sent, the
 * answer lost or replaced) and may throw anything at all; a CRM that changes between two runs on the same books;
 * a render or a store failing for one invoice. The real-deps tests use the package's HTTP providers
 * (test/http-world.ts).
 */
import { LocalDurableTestRunner, ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  createRealDeps,
  parseInvoiceBatch,
  renderInvoiceHtml,
  sendingCap,
  ProviderHttpError,
  ProviderUnreachableError,
  type BillingDeps,
  type BillingRunResult,
  type DeliveryRequest,
  type FxQuoteRequest,
  type RealDepsConfig,
  type WorkflowConfig,
} from "../src";
import { gate } from "../src/demo";
import { startHttpWorld, type Route } from "./http-world";
import { secretsManager, type SecretsManagerWorld } from "./secrets";

type HttpWorld = Awaited<ReturnType<typeof startHttpWorld>>;

jest.setTimeout(60_000);

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

// ---------------------------------------------------------------------------------------------------------------
// A fake world that keeps its own books.
// ---------------------------------------------------------------------------------------------------------------

type Email = {
  invoiceId: string;
  idempotencyKey: string;
  to: string;
  amountCents: number;
  currency: string;
  documentKey: string;
  messageId: string;
};

/** What the invoicing provider does with one request: the hook runs before (not done) or after (done) the email. */
type SendHook = (
  req: DeliveryRequest,
  call: number,
) => { before?: () => never; after?: () => unknown } | undefined;

class World {
  emails: Email[] = [];
  requests: DeliveryRequest[] = [];
  /** The provider's receipts by idempotency key: what it sent under the key, as its receipt repeats it. */
  receipts = new Map<string, Omit<Email, "idempotencyKey">>();
  puts: { key: string; body: Buffer }[] = [];
  crmCalls = 0;
  ledgerCalls = 0;
  taxCalls = 0;
  fxCalls: string[] = [];
  renderCalls: string[] = [];
  customer = {
    customerId: "acme",
    legalName: "Acme GmbH",
    billingEmail: "billing@acme.example",
    country: "DE",
  };
  sendHook: SendHook = () => undefined;
  /** Hold a request at the provider until the promise settles, before the hook (undefined: not held). */
  holdSend: (req: DeliveryRequest) => Promise<void> | undefined = () => undefined;
  renderHook: (invoiceId: string) => void = () => undefined;
  putHook: (key: string) => void = () => undefined;
  fxAnswer: (name: string, req: FxQuoteRequest) => unknown = (name, req) => ({
    requestId: req.requestId,
    from: req.from,
    to: req.to,
    rate: name === "atlas" ? 0.92 : name === "beacon" ? 0.921 : 0.919,
  });
  private nextMessage = 1;
  private callsPerInvoice = new Map<string, number>();

  emailsFor(invoiceId: string): Email[] {
    return this.emails.filter((e) => e.invoiceId === invoiceId);
  }

  deps(): BillingDeps {
    return {
      crm: { getCustomer: async (id) => (this.crmCalls++, { ...this.customer, customerId: id }) },
      ledger: {
        getAccount: async (id) => (
          this.ledgerCalls++,
          { customerId: id, balanceCents: 0, overdueInvoices: 0 }
        ),
      },
      taxRegistry: { checkVatNumber: async (vat) => (this.taxCalls++, { vatNumber: vat, valid: true }) },
      fxProviders: ["atlas", "beacon", "cedar"].map((name) => ({
        name,
        getRate: async (req: FxQuoteRequest) => {
          this.fxCalls.push(name);
          return this.fxAnswer(name, req);
        },
      })),
      renderer: {
        render: async (invoice, currency, customer) => {
          this.renderCalls.push(invoice.invoiceId);
          this.renderHook(invoice.invoiceId);
          return { body: renderInvoiceHtml(invoice, currency, customer), contentType: "text/html" };
        },
      },
      documents: {
        put: async ({ key, body }) => {
          this.putHook(key);
          this.puts.push({ key, body: Buffer.from(body) });
        },
      },
      sender: {
        send: async (req) => {
          this.requests.push(req);
          const call = (this.callsPerInvoice.get(req.invoiceId) ?? 0) + 1;
          this.callsPerInvoice.set(req.invoiceId, call);
          const held = this.holdSend(req);
          if (held) await held;
          const hook = this.sendHook(req, call);
          hook?.before?.();
          // The provider honours idempotency keys, as the README requires: a repeat gets the first receipt.
          let receipt = this.receipts.get(req.idempotencyKey);
          if (!receipt) {
            const { idempotencyKey, ...content } = req;
            receipt = { ...content, messageId: `msg-${this.nextMessage++}` };
            this.receipts.set(idempotencyKey, receipt);
            this.emails.push({ ...req, messageId: receipt.messageId });
          }
          if (hook?.after) return hook.after();
          return { ...receipt };
        },
      },
    };
  }
}

function invoices(
  n: number,
  amount = (i: number) => 1000 + i,
): { invoiceId: string; amountCents: number; issueDate: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    invoiceId: `INV-${1001 + i}`,
    amountCents: amount(i),
    issueDate: "2026-11-30",
  }));
}

function batch(n: number, extra: Record<string, unknown> = {}) {
  return {
    batchId: "B-2026-11-acme",
    customerId: "acme",
    vatNumber: "DE123456789",
    currency: "USD",
    invoices: invoices(n),
    ...extra,
  };
}

async function runWith(
  world: World,
  event: unknown,
  config: Partial<WorkflowConfig> = {},
  deps?: BillingDeps,
) {
  const runner = new LocalDurableTestRunner<BillingRunResult>({
    handlerFunction: createHandler(deps ?? world.deps(), { retryCooldown: { seconds: 1 }, ...config }),
  });
  const execution = await runner.run({ payload: event });
  return { runner, execution };
}

async function succeeded(world: World, event: unknown, config: Partial<WorkflowConfig> = {}) {
  const { runner, execution } = await runWith(world, event, config);
  if (execution.getStatus() !== ExecutionStatus.SUCCEEDED) {
    throw new Error(`run ${execution.getStatus()}: ${JSON.stringify(execution.getError())}`);
  }
  return { runner, execution, result: execution.getResult()! };
}

const timeoutAfterSend = () => {
  throw new ProviderUnreachableError("timeout", "no answer within 10000 ms");
};

/**
 * The books of the provider and the report must tell the same story:
 * - an invoice reported sent was emailed exactly once, for its own amount, to the CRM's address;
 * - an invoice reported failed (not sent) was never emailed;
 * - no invoice is emailed twice; the sent total is the sum of what was emailed for the invoices reported sent.
 */
function assertBooksAgree(world: World, event: ReturnType<typeof batch>, result: BillingRunResult) {
  for (const inv of event.invoices) {
    expect(world.emailsFor(inv.invoiceId).length).toBeLessThanOrEqual(1);
  }
  for (const s of result.sent) {
    const emails = world.emailsFor(s.invoiceId);
    expect(emails).toHaveLength(1);
    expect(emails[0]!.messageId).toBe(s.messageId);
    expect(emails[0]!.to).toBe(world.customer.billingEmail);
    expect(emails[0]!.currency).toBe(event.currency);
    expect(emails[0]!.amountCents).toBe(event.invoices.find((i) => i.invoiceId === s.invoiceId)!.amountCents);
  }
  for (const f of result.failed) {
    expect({ invoiceId: f.invoiceId, emails: world.emailsFor(f.invoiceId).length }).toEqual({
      invoiceId: f.invoiceId,
      emails: 0,
    });
  }
  // Issued before: the customer holds exactly one invoice with that number, the earlier one.
  for (const i of result.issuedBefore) {
    expect({ invoiceId: i.invoiceId, emails: world.emailsFor(i.invoiceId).length }).toEqual({
      invoiceId: i.invoiceId,
      emails: 1,
    });
  }
  const emailedForSent = result.sent.reduce(
    (sum, s) => sum + world.emailsFor(s.invoiceId)[0]!.amountCents,
    0,
  );
  expect(result.sentTotal.amountCents).toBe(emailedForSent);
  // every invoice is accounted for exactly once
  const accounted = [
    ...result.sent.map((s) => s.invoiceId),
    ...result.failed.map((f) => f.invoiceId),
    ...result.inDoubt.map((d) => d.invoiceId),
    ...result.issuedBefore.map((d) => d.invoiceId),
    ...result.unfinished,
  ].sort();
  expect(accounted).toEqual(event.invoices.map((i) => i.invoiceId).sort());
}

function checkpointSizes(execution: {
  getOperations(): { getName(): string | undefined; getOperationData(): unknown }[];
}) {
  return execution.getOperations().map((op) => ({
    name: op.getName(),
    bytes: Buffer.byteLength(JSON.stringify(op.getOperationData() ?? {})),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The same business id run twice
// ---------------------------------------------------------------------------------------------------------------

describe("the same batch id run twice", () => {
  it("an unchanged rerun sends no second email and reports every invoice sent with its first receipt", async () => {
    const world = new World();
    const event = batch(4);
    const first = await succeeded(world, event);
    const second = await succeeded(world, event);
    expect(world.emails).toHaveLength(4);
    expect(second.result.sent.map((s) => s.messageId).sort()).toEqual(
      first.result.sent.map((s) => s.messageId).sort(),
    );
    assertBooksAgree(world, event, second.result);
  });

  it("a rerun with a corrected amount is refused as issued before: the old receipt is not taken for the new amount", async () => {
    const world = new World();
    const event = batch(3);
    await succeeded(world, event);
    // Finance corrects INV-1002 and runs the batch again with the same batch id (as the README suggests for reruns).
    const corrected = {
      ...event,
      invoices: event.invoices.map((i) => (i.invoiceId === "INV-1002" ? { ...i, amountCents: 999_999 } : i)),
    };
    const { result } = await succeeded(world, corrected, {
      completionPolicy: { toleratedFailurePercentage: 100 },
    });
    // The customer was emailed the old amount once; the books must not say 999,999 was invoiced.
    expect(world.emailsFor("INV-1002").map((e) => e.amountCents)).toEqual([1001]);
    // Changed from the review's `sentTotal === every email ever sent`: a run reports what it confirmed sent. The
    // changed invoice is refused (the provider replayed the first receipt, for 1,001), the others confirmed.
    expect(result.issuedBefore.map((i) => i.invoiceId)).toEqual(["INV-1002"]);
    expect(result.issuedBefore[0]!.error).toMatch(/^\[issued before\] .*amountCents 1001, not 999999/);
    expect(result.sentTotal.amountCents).toBe(1000 + 1002);
    assertBooksAgree(world, corrected, result);
    // Refused, not retried: a second pass would get the same first receipt.
    expect(world.requests.filter((r) => r.invoiceId === "INV-1002")).toHaveLength(2);
  });

  it("a rerun never overwrites a document already emailed to the customer with different content", async () => {
    const world = new World();
    const event = batch(2);
    await succeeded(world, event);
    world.customer = { ...world.customer, legalName: "Acme Holding AG" }; // the CRM changed between the runs
    const { result } = await succeeded(world, event, {
      completionPolicy: { toleratedFailurePercentage: 100 },
    });
    for (const key of new Set(world.puts.map((p) => p.key))) {
      const bodies = new Set(world.puts.filter((p) => p.key === key).map((p) => p.body.toString("base64")));
      expect({ key, distinctBodies: bodies.size }).toEqual({ key, distinctBodies: 1 });
    }
    // The documents the customer received are still stored, and the rerun reports them issued before.
    for (const email of world.emails) expect(world.puts.some((p) => p.key === email.documentKey)).toBe(true);
    expect(result.issuedBefore.map((i) => i.invoiceId)).toEqual(["INV-1001", "INV-1002"]);
    expect(world.emails).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Lost replies, in doubt, forged verdicts
// ---------------------------------------------------------------------------------------------------------------

describe("done, not done, in doubt", () => {
  it("a reply lost after the email went out is settled with the same key: one email, reported sent", async () => {
    const world = new World();
    const event = batch(10); // one failure of ten is within the default 10%: the retry pass runs
    world.sendHook = (req, call) =>
      req.invoiceId === "INV-1003" && call === 1 ? { after: timeoutAfterSend } : undefined;
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1003")).toHaveLength(1);
    const keys = new Set(
      world.requests.filter((r) => r.invoiceId === "INV-1003").map((r) => r.idempotencyKey),
    );
    expect(keys.size).toBe(1);
    expect(result.sent.map((s) => s.invoiceId)).toContain("INV-1003");
    assertBooksAgree(world, event, result);
  });

  it("a 503 returned after the provider acted (a contract breach) still costs one email, because the key is reused", async () => {
    const world = new World();
    const event = batch(3);
    world.sendHook = (req, call) =>
      req.invoiceId === "INV-1002" && call === 1
        ? {
            after: () => {
              throw new ProviderHttpError(503, "busy");
            },
          }
        : undefined;
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1002")).toHaveLength(1);
    assertBooksAgree(world, event, result);
  });

  it("a timeout whose provider text forges '[refused]' is still treated as in doubt and retried with the same key", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req, call) =>
      req.invoiceId === "INV-1001" && call === 1
        ? {
            after: () => {
              throw new ProviderUnreachableError("timeout", "[refused] [not sent] upstream said so");
            },
          }
        : undefined;
    const { result } = await succeeded(world, event);
    expect(world.requests.filter((r) => r.invoiceId === "INV-1001").length).toBe(2);
    expect(result.sent.map((s) => s.invoiceId)).toContain("INV-1001");
    assertBooksAgree(world, event, result);
  });

  it("a 422 whose error page forges '[in doubt]' is refused: not resent, reported failed", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req) =>
      req.invoiceId === "INV-1002"
        ? {
            before: () => {
              throw new ProviderHttpError(422, "[in doubt] maybe sent");
            },
          }
        : undefined;
    const { result } = await succeeded(world, event);
    expect(world.requests.filter((r) => r.invoiceId === "INV-1002").length).toBe(1);
    expect(result.failed.map((f) => f.invoiceId)).toEqual(["INV-1002"]);
    assertBooksAgree(world, event, result);
  });

  it("in doubt in the first pass and 'not sent' in the retry pass is reported in doubt, never failed", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req, call) => {
      if (req.invoiceId !== "INV-1004") return undefined;
      if (call === 1) return { after: timeoutAfterSend };
      return {
        before: () => {
          throw new ProviderHttpError(503, "down");
        },
      };
    };
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1004")).toHaveLength(1);
    expect(world.requests.filter((r) => r.invoiceId === "INV-1004").length).toBeGreaterThan(1); // the retry pass ran
    expect(result.inDoubt.map((d) => d.invoiceId)).toEqual(["INV-1004"]);
    expect(result.failed).toEqual([]);
    assertBooksAgree(world, event, result);
  });

  it("in doubt in the first pass, then the re-render fails in the retry pass: still in doubt (the email is out), never failed", async () => {
    const world = new World();
    const event = batch(10);
    let renders = 0;
    world.renderHook = (id) => {
      if (id === "INV-1005" && ++renders > 1) throw new Error("renderer out of memory");
    };
    world.sendHook = (req, call) =>
      req.invoiceId === "INV-1005" && call === 1 ? { after: timeoutAfterSend } : undefined;
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1005")).toHaveLength(1);
    expect(renders).toBe(2); // the retry pass ran
    expect(result.failed.map((f) => f.invoiceId)).toEqual([]);
    expect(result.inDoubt.map((d) => d.invoiceId)).toEqual(["INV-1005"]);
  });

  it("in doubt in the first pass, then refused (422) in the retry pass: still in doubt (the email is out), never failed", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req, call) => {
      if (req.invoiceId !== "INV-1006") return undefined;
      if (call === 1) return { after: timeoutAfterSend };
      return {
        before: () => {
          throw new ProviderHttpError(422, "duplicate idempotency key");
        },
      };
    };
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1006")).toHaveLength(1);
    expect(result.failed.map((f) => f.invoiceId)).toEqual([]);
    expect(result.inDoubt.map((d) => d.invoiceId)).toEqual(["INV-1006"]);
  });

  it("a pass halted by its policy reports its sends in doubt as in doubt, not failed", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req) =>
      ["INV-1002", "INV-1003"].includes(req.invoiceId) ? { after: timeoutAfterSend } : undefined;
    const { result } = await succeeded(world, event, { maxConcurrency: 1 });
    expect(result.outcome).toBe("HALTED");
    // the provider emailed both; "failed" would invite a manual resend under a new key
    expect(result.failed.map((f) => f.invoiceId)).toEqual([]);
    expect(result.inDoubt.map((d) => d.invoiceId).sort()).toEqual(["INV-1002", "INV-1003"]);
    assertBooksAgree(world, event, result);
  });

  it("a receipt for another invoice is not believed, and the invoice is not double-emailed settling it", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req, call) =>
      req.invoiceId === "INV-1001" && call === 1
        ? { after: () => ({ invoiceId: "INV-1002", messageId: "msg-forged" }) }
        : undefined;
    const { result } = await succeeded(world, event);
    expect(result.sent.find((s) => s.messageId === "msg-forged")).toBeUndefined();
    expect(world.emailsFor("INV-1001")).toHaveLength(1);
    assertBooksAgree(world, event, result);
  });

  it("two invoices answered with the same message id (a provider mixing up items) are both in doubt, neither sent", async () => {
    const world = new World();
    const event = batch(3);
    world.sendHook = (req) =>
      ["INV-1001", "INV-1003"].includes(req.invoiceId)
        ? { after: () => ({ ...world.receipts.get(req.idempotencyKey)!, messageId: "msg-shared" }) }
        : undefined;
    const { result } = await succeeded(world, event);
    const ids = result.sent.map((s) => s.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(result.sent.map((s) => s.invoiceId)).toEqual(["INV-1002"]);
    expect(result.inDoubt.map((d) => d.invoiceId).sort()).toEqual(["INV-1001", "INV-1003"]);
    expect(result.inDoubt[0]!.error).toContain(
      'the provider answered INV-1001, INV-1003 with the same message id "msg-shared"',
    );
    expect(result.sentTotal.amountCents).toBe(1001);
    assertBooksAgree(world, event, result);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// One item poisoning the batch
// ---------------------------------------------------------------------------------------------------------------

describe("one item poisoning the batch", () => {
  it("a sender throwing a 300 KB error keeps the run alive, the error bounded and every checkpoint under 256 KB", async () => {
    const world = new World();
    const event = batch(4);
    world.sendHook = (req) =>
      req.invoiceId === "INV-1002"
        ? {
            after: () => {
              throw new Error("E".repeat(300_000));
            },
          }
        : undefined;
    const { result, execution } = await succeeded(world, event);
    const entry = [...result.inDoubt, ...result.failed].find((x) => x.invoiceId === "INV-1002");
    expect(entry).toBeDefined();
    expect(entry!.error.length).toBeLessThan(2_000);
    const big = checkpointSizes(execution).filter((c) => c.bytes > 256 * 1024);
    expect(big).toEqual([]);
    expect(JSON.stringify(result).length).toBeLessThan(20_000);
  });

  it("a sender throwing null, a string or a plain object after sending: the invoice is in doubt, one email", async () => {
    const world = new World();
    const event = batch(4);
    // Not Error objects on purpose: what a badly written client library throws.
    /* eslint-disable @typescript-eslint/only-throw-error */
    const throwers: Record<string, () => never> = {
      "INV-1001": () => {
        throw null;
      },
      "INV-1002": () => {
        throw "socket hang up";
      },
      "INV-1003": () => {
        throw { code: "ECONNRESET" };
      },
    };
    /* eslint-enable @typescript-eslint/only-throw-error */
    world.sendHook = (req, call) =>
      throwers[req.invoiceId] && call === 1 ? { after: throwers[req.invoiceId] } : undefined;
    const { result } = await succeeded(world, event);
    for (const id of Object.keys(throwers)) expect(world.emailsFor(id)).toHaveLength(1);
    assertBooksAgree(world, event, result);
  });

  it("a render failure (nothing sent) is reported failed, not in doubt, and the others go out", async () => {
    const world = new World();
    const event = batch(10);
    world.renderHook = (id) => {
      if (id === "INV-1003") throw new Error("template exploded");
    };
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1003")).toHaveLength(0);
    expect(result.inDoubt).toEqual([]);
    expect(result.failed.map((f) => f.invoiceId)).toEqual(["INV-1003"]);
    expect(world.emails).toHaveLength(9);
    assertBooksAgree(world, event, result);
  });

  it("a document store failure for one invoice sends nothing for it and nothing without its document", async () => {
    const world = new World();
    const event = batch(4);
    world.putHook = (key) => {
      if (key.includes("/INV-1002/")) throw new Error("S3 AccessDenied");
    };
    const { result } = await succeeded(world, event);
    expect(world.emailsFor("INV-1002")).toHaveLength(0);
    const stored = new Set(world.puts.map((p) => p.key));
    for (const e of world.emails) expect(stored.has(e.documentKey)).toBe(true);
    assertBooksAgree(world, event, result);
  });

  it("a mixed batch (lost replies, 422, 500, 503s, a queued receipt, no connection, an empty body): the books agree with the report", async () => {
    const world = new World();
    const event = batch(12);
    const behaviour: Record<string, (call: number) => ReturnType<SendHook>> = {
      "INV-1001": (c) => (c === 1 ? { after: timeoutAfterSend } : undefined),
      "INV-1002": () => ({
        before: () => {
          throw new ProviderHttpError(422, "bad vat");
        },
      }),
      "INV-1003": (c) =>
        c === 1
          ? {
              after: () => {
                throw new ProviderHttpError(500, "oops");
              },
            }
          : undefined,
      "INV-1004": (c) =>
        c <= 2
          ? {
              before: () => {
                throw new ProviderHttpError(503, "busy");
              },
            }
          : undefined,
      "INV-1005": () => ({ after: () => ({ invoiceId: "INV-1005", messageId: "x", state: "queued" }) }),
      "INV-1006": () => ({
        before: () => {
          throw new ProviderUnreachableError("connect", "ECONNREFUSED");
        },
      }),
      "INV-1007": (c) => (c === 1 ? { after: () => "" } : undefined),
    };
    world.sendHook = (req, call) => behaviour[req.invoiceId]?.(call);
    const { result } = await succeeded(world, event, {
      completionPolicy: { toleratedFailurePercentage: 100 },
    });
    assertBooksAgree(world, event, result);
    expect(result.inDoubt.map((d) => d.invoiceId)).toEqual(["INV-1005"]);
  });
});

describe("what the report claims", () => {
  it.each([
    ["sendingCap(3)", () => sendingCap(3)],
    ["minSuccessful: 4", () => ({ minSuccessful: 4 })],
  ])(
    "a pass that stopped early under %s never reports ALL_SENT while invoices were never emailed",
    async (_label, policy) => {
      const world = new World();
      const event = batch(10);
      const { result } = await succeeded(world, event, { completionPolicy: policy(), maxConcurrency: 1 });
      const emailed = new Set(world.emails.map((e) => e.invoiceId));
      const neverEmailed = event.invoices.filter((i) => !emailed.has(i.invoiceId)).map((i) => i.invoiceId);
      expect(neverEmailed.length).toBeGreaterThan(0);
      expect(result.outcome).not.toBe("ALL_SENT");
      assertBooksAgree(world, event, result);
    },
  );

  it("a halted pass: every invoice listed unfinished was never sent to the provider; those in flight are in doubt", async () => {
    const world = new World();
    const event = batch(10);
    world.sendHook = (req) =>
      ["INV-1001", "INV-1002"].includes(req.invoiceId)
        ? {
            before: () => {
              throw new ProviderHttpError(422, "refused");
            },
          }
        : undefined;
    // The two refusals wait until three others are at the provider; those stay there until the run has
    // returned: in flight when the pass stops, however slow the machine.
    const othersArrived = gate();
    const stragglers = gate();
    let others = 0;
    world.holdSend = (req) => {
      if (["INV-1001", "INV-1002"].includes(req.invoiceId)) return othersArrived.opened;
      if (++others === 3) othersArrived.open();
      return stragglers.opened;
    };
    const { result } = await succeeded(world, event);
    expect(world.emails).toEqual([]); // nothing was sent while the pass ran
    stragglers.open();
    // Let the stragglers finish at the provider: they do on the microtasks that follow, before any timer.
    await new Promise((r) => setTimeout(r, 0));
    expect(result.outcome).toBe("HALTED");
    const attempted = result.unfinished.filter((id) => world.requests.some((r) => r.invoiceId === id));
    const emailed = result.unfinished.filter((id) => world.emailsFor(id).length > 0);
    expect({ unfinished: result.unfinished, attempted, emailed }).toEqual({
      unfinished: result.unfinished,
      attempted: [],
      emailed: [],
    });
    expect(result.unfinished.length).toBeGreaterThan(0);
    // The ones in flight when the pass stopped were emailed after the run returned: reported in doubt, with the
    // key to resend them by, never as unfinished.
    const emailedLate = world.emails
      .map((e) => e.invoiceId)
      .filter((id) => !result.sent.some((s) => s.invoiceId === id));
    expect(emailedLate.length).toBeGreaterThan(0);
    for (const id of emailedLate) {
      const entry = result.inDoubt.find((d) => d.invoiceId === id);
      expect({ id, error: entry?.error }).toEqual({
        id,
        error: expect.stringContaining(`only with its key B-2026-11-acme:${id}`) as unknown,
      });
    }
  });

  it("1,000 invoices whose replies are all lost once (an outage after acting): one email each, all settled, books agree", async () => {
    const world = new World();
    const event = batch(1000);
    world.sendHook = (_req, call) => (call === 1 ? { after: timeoutAfterSend } : undefined);
    const { result, execution } = await succeeded(world, event, {
      completionPolicy: { toleratedFailurePercentage: 100 },
    });
    expect(world.emails).toHaveLength(1000);
    expect(result.sent).toHaveLength(1000);
    expect(result.inDoubt).toEqual([]);
    assertBooksAgree(world, event, result);
    expect(checkpointSizes(execution).filter((c) => c.bytes > 256 * 1024)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Side work failing
// ---------------------------------------------------------------------------------------------------------------

describe("side work", () => {
  it("every FX provider down or answering garbage never fails the batch nor changes what was sent", async () => {
    const world = new World();
    const event = batch(3);
    let n = 0;
    world.fxAnswer = () => {
      n++;
      if (n === 1) throw new Error("fx down");
      if (n === 2) return { rate: NaN };
      return "<html>502</html>";
    };
    const { result } = await succeeded(world, event);
    expect(world.emails).toHaveLength(3);
    expect(result.reportingTotal).toBeUndefined();
    assertBooksAgree(world, event, result);
  });

  it("a batch in EUR asks no FX provider and reports the total as is", async () => {
    const world = new World();
    const event = batch(2, { currency: "EUR" });
    const { result } = await succeeded(world, event);
    expect(world.fxCalls).toEqual([]);
    expect(result.sentTotal).toEqual({ currency: "EUR", amountCents: 1000 + 1001 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

describe("input", () => {
  // Unknown invoice and batch fields (an invoice's own currency, a discount): rows of test/input.test.ts.

  it("bad amounts and ids are refused before any call: negative, NaN, past MAX_SAFE_INTEGER, __proto__, spaces, unicode", async () => {
    const bad: unknown[] = [
      { amountCents: -100 },
      { amountCents: Number.NaN },
      { amountCents: Number.MAX_SAFE_INTEGER + 2 },
      { amountCents: "100" },
      { amountCents: 1_000_000_001 },
      { invoiceId: "__proto__" },
      { invoiceId: "   " },
      { invoiceId: "INV-1001\u200b" },
      { invoiceId: "ИНВ-1001" },
      { issueDate: "2026-02-30" },
    ];
    for (const patch of bad) {
      const world = new World();
      const event = batch(2);
      event.invoices[1] = { ...event.invoices[1]!, ...(patch as object) };
      const { execution } = await runWith(world, event);
      expect({ patch, status: execution.getStatus() }).toEqual({ patch, status: ExecutionStatus.FAILED });
      expect({
        patch,
        ops: execution.getOperations().length,
        calls: world.crmCalls + world.requests.length,
      }).toEqual({ patch, ops: 0, calls: 0 });
    }
  });

  it("an own __proto__ key in JSON input does not supply a missing amount", () => {
    const event: unknown = JSON.parse(
      '{"batchId":"B-1","customerId":"acme","vatNumber":"DE123456789","currency":"USD","invoices":[{"invoiceId":"INV-1","issueDate":"2026-11-30","__proto__":{"amountCents":100}}]}',
    );
    expect(() => parseInvoiceBatch(event)).toThrow(
      'invoices[0].amountCents is required; invoices[0] has unexpected fields: "__proto__"',
    );
  });
});

describe("documents", () => {
  it("the rendered invoice escapes HTML in the legal name and purchase order", () => {
    const html = Buffer.from(
      renderInvoiceHtml(
        {
          invoiceId: "INV-1",
          amountCents: 100,
          issueDate: "2026-11-30",
          purchaseOrder: "<script>alert(1)</script>",
        },
        "USD",
        {
          legalName: "<img src=x onerror=alert(1)>",
          country: "DE",
          vatNumber: "DE123456789",
          paymentTermsDays: 30,
        },
      ),
    ).toString();
    expect(html).not.toMatch(/<script|<img/i);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real deps against the local HTTP providers of test/http-world.ts: secrets and limits
// ---------------------------------------------------------------------------------------------------------------

/** Everything written to stdout, stderr and the console while a test runs. */
function captureOutput() {
  const chunks: string[] = [];
  const out = jest
    .spyOn(process.stdout, "write")
    .mockImplementation((c: string | Uint8Array) => (chunks.push(String(c)), true));
  const err = jest
    .spyOn(process.stderr, "write")
    .mockImplementation((c: string | Uint8Array) => (chunks.push(String(c)), true));
  const cons = (["log", "warn", "error", "info", "debug"] as const).map((k) =>
    jest.spyOn(console, k).mockImplementation((...a: unknown[]) => void chunks.push(a.map(String).join(" "))),
  );
  return {
    text: () => chunks.join("\n"),
    restore: () => [out, err, ...cons].forEach((s) => s.mockRestore()),
  };
}

describe("real deps: secrets and limits", () => {
  const INVOICING_TOKEN = "sk_live_SUPERSECRET_0123456789";
  const FX_TOKEN = "fx-atlas-token-42";
  const withTokens = (world: HttpWorld, over: Partial<RealDepsConfig> = {}): RealDepsConfig => ({
    ...world.config(),
    ...over,
  });
  let world: HttpWorld;
  // The tokens are in Secrets Manager (aws-sdk-client-mock), each under its own setting; the others unset.
  let secrets: SecretsManagerWorld;
  beforeEach(async () => {
    world = await startHttpWorld();
    secrets = secretsManager();
    secrets.holds("INVOICING_API_TOKEN", INVOICING_TOKEN);
    secrets.holds("FX_ATLAS_TOKEN", FX_TOKEN);
  });
  afterEach(async () => {
    secrets.restore();
    await world.close();
  });

  it("each service gets its own token only: the invoicing token never reaches a third-party FX provider", async () => {
    const deps = createRealDeps(() => withTokens(world), world.s3);
    const { execution } = await runWith(new World(), batch(2), {}, deps);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const auth = (route: Route) => world.requestsTo(route).map((r) => r.headers.authorization);
    expect(auth("invoicing")).toEqual([`Bearer ${INVOICING_TOKEN}`, `Bearer ${INVOICING_TOKEN}`]);
    expect(new Set(auth("fx-atlas"))).toEqual(new Set([`Bearer ${FX_TOKEN}`]));
    // A service without a token of its own gets no Authorization header at all.
    for (const route of ["fx-beacon", "crm", "ledger", "tax"] as const) {
      expect({ route, auth: auth(route).filter((a) => a !== undefined) }).toEqual({ route, auth: [] });
    }
  });

  it("an error page echoing the Authorization header keeps the token out of the result, history, checkpoints and logs", async () => {
    world.override("invoicing", ({ request }) => ({
      status: 422,
      send: false,
      body: `<h1>Unprocessable</h1> authorization: ${request.headers.authorization} token=${INVOICING_TOKEN}`,
    }));
    const cap = captureOutput();
    try {
      const deps = createRealDeps(() => withTokens(world), world.s3);
      const { execution } = await runWith(new World(), batch(2), {}, deps);
      expect(world.requestsTo("invoicing").length).toBeGreaterThan(0);
      const channels = {
        result: JSON.stringify(
          execution.getStatus() === ExecutionStatus.SUCCEEDED ? execution.getResult() : execution.getError(),
        ),
        history: JSON.stringify(execution.getHistoryEvents()),
        checkpoints: JSON.stringify(execution.getOperations().map((o) => o.getOperationData())),
        logs: cap.text(),
      };
      const leaked = Object.fromEntries(
        Object.entries(channels).map(([k, v]) => [k, v.includes(INVOICING_TOKEN)]),
      );
      expect(leaked).toEqual({ result: false, history: false, checkpoints: false, logs: false });
      // The rest of the page is kept, so the refusal can still be read.
      expect(channels.result).toContain("Unprocessable");
      expect(channels.result).toContain("Bearer [redacted]");
    } finally {
      cap.restore();
    }
  });

  it("a provider URL carrying credentials is refused as a configuration error naming the setting, never echoed, never retried", async () => {
    const deps = createRealDeps(
      () => withTokens(world, { crmUrl: "http://svc-user:hunter2pass@127.0.0.1:9/crm/" }),
      world.s3,
    );
    const { runner, execution } = await runWith(new World(), batch(1), {}, deps);
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    const leaked = {
      error: JSON.stringify(execution.getError()).includes("hunter2pass"),
      history: JSON.stringify(execution.getHistoryEvents()).includes("hunter2pass"),
    };
    expect(leaked).toEqual({ error: false, history: false });
    expect(execution.getError()?.errorMessage).toContain(
      "CRM_API_URL must not contain credentials (user:password@): put the service's token in the secret named " +
        "by CRM_API_TOKEN_SECRET_ARN",
    );
    // A configuration error is not an outage: one attempt, and nothing asked of any provider.
    expect(runner.getOperation("load-crm-record").getStepDetails()?.attempt).toBe(1);
    expect(world.requestsTo("invoicing")).toEqual([]);
  });

  it("with no timeout configured (configFromEnv sets none), a provider that never answers still fails the call within 15 s", async () => {
    world.override("crm", () => ({ delayMs: 11_000 }));
    const deps = createRealDeps(() => ({ ...withTokens(world), timeoutMs: undefined }), world.s3);
    const outcome = await Promise.race([
      deps.crm.getCustomer("acme").then(
        () => "answered",
        (e: Error) => `failed: ${e.name}`,
      ),
      new Promise<string>((r) => setTimeout(() => r("still waiting after 15 s"), 15_000)),
    ]);
    expect(outcome).toBe("failed: ProviderUnreachableError");
  }, 30_000);

  it("real deps: one email per invoice with the Idempotency-Key <batchId>:<invoiceId>, and its document in S3 first", async () => {
    const deps = createRealDeps(() => withTokens(world), world.s3);
    const event = batch(3);
    const { execution } = await runWith(new World(), event, {}, deps);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.emails.map((e) => e.invoiceId).sort()).toEqual(["INV-1001", "INV-1002", "INV-1003"]);
    const keys = world.requestsTo("invoicing").map((r) => r.headers["idempotency-key"]);
    expect(keys.sort()).toEqual(event.invoices.map((i) => `${event.batchId}:${i.invoiceId}`).sort());
    const stored = new Set(await world.storedKeys());
    for (const email of world.emails) {
      expect(email.documentKey).toMatch(
        new RegExp(`^invoices/${event.batchId}/${email.invoiceId}/[0-9a-f]{16}$`),
      );
      expect(stored.has(email.documentKey)).toBe(true);
    }
  });
});
