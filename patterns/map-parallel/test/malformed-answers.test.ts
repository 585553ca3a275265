import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, createRealDeps, MAX_ANSWER_BYTES, type BillingRunResult } from "../src";
import { quickConfig, sampleBatch } from "../src/demo";
import { startHttpWorld, type Override, type Route } from "./http-world";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The real deps (src/deps.ts) against providers on 127.0.0.1 that answer what each row says, run through the
// whole workflow: the answer is read by the real HTTP code, parsed in its step, and its outcome decided. The
// assertions read the providers' own records: what the invoicing provider emailed, what reached S3.
// Local only (describeLocal): the providers are local servers.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const batch = sampleBatch(3);
const json = (value: unknown) => JSON.stringify(value);
const huge = "x".repeat(MAX_ANSWER_BYTES + 1);
/** Answer with this body (status 200). */
const body =
  (text: string): Override =>
  () => ({ body: text });
/** The normal answer with some fields replaced. */
const patch =
  (fields: Record<string, unknown>): Override =>
  ({ normal }) => ({ body: json({ ...normal, ...fields }) });
/** Only for the first request to the route; later ones answer normally. */
const once =
  (override: Override): Override =>
  (context) =>
    context.attempt === 1 ? override(context) : undefined;
/** Only for INV-1002's delivery requests. */
const forInvoice2 =
  (override: Override): Override =>
  (context) =>
    context.request.body.includes('"INV-1002"') ? override(context) : undefined;

interface Row {
  answer: string;
  route: Route;
  override: Override;
  /** "FAILED: <words of the error>", or the batch's outcome. */
  run: string;
  /** Emails the invoicing provider sent, by its own record (never more than one per invoice). */
  emails: number;
  /** FX providers whose quote was discarded; the rate used, or null for none. */
  discarded?: string[];
  rate?: number | null;
  /** Invoices reported in doubt, and reported not sent. */
  inDoubt?: string[];
  failed?: string[];
  /** Invoices reported issued before with other content. */
  issuedBefore?: string[];
  /** Requests the route received (for invoicing: INV-1002's), default 1: a bad answer is not asked again. */
  requests?: number;
  /** Whether the retry pass ran (for invoicing rows). */
  retryPass?: boolean;
  /** A second route answering badly too. */
  also?: [Route, Override];
}

// Required lookups: a malformed answer fails the run before any invoice is rendered or sent.
const lookups: Row[] = [
  {
    answer: "not JSON",
    route: "crm",
    override: body("<html>bad gateway</html>"),
    run: "FAILED: not JSON",
    emails: 0,
  },
  { answer: "an empty body", route: "crm", override: body(""), run: "FAILED: empty body", emails: 0 },
  { answer: "{}", route: "crm", override: body("{}"), run: "FAILED: customerId is missing", emails: 0 },
  {
    answer: "null",
    route: "crm",
    override: body("null"),
    run: "FAILED: must be an object, not null",
    emails: 0,
  },
  { answer: "a string", route: "crm", override: body('"acme"'), run: "FAILED: must be an object", emails: 0 },
  {
    answer: `huge (${MAX_ANSWER_BYTES + 1} bytes)`,
    route: "crm",
    override: body(json({ legalName: huge })),
    run: `FAILED: more than the ${MAX_ANSWER_BYTES}`,
    emails: 0,
  },
  {
    answer: "another customer's record",
    route: "crm",
    override: patch({ customerId: "globex", billingEmail: "billing@globex.example.com" }),
    run: 'FAILED: crm answered about customer "globex", but was asked about "acme"',
    emails: 0,
  },
  {
    answer: "a billing email that is not one",
    route: "crm",
    override: patch({ billingEmail: "acme accounts" }),
    run: "FAILED: billingEmail must be an email address",
    emails: 0,
  },
  {
    answer: "a 100 KB legal name (over the size limit)",
    route: "crm",
    override: patch({ legalName: "A".repeat(100 * 1024) }),
    run: "FAILED: more than the",
    emails: 0,
  },
  {
    answer: "a 1,000-character legal name",
    route: "crm",
    override: patch({ legalName: "A".repeat(1000) }),
    run: "FAILED: legalName must be at most 200 characters",
    emails: 0,
  },
  {
    // U+202E reverses what follows: the document would display "Acme GmbH" for a name that is not that.
    answer: "a legal name with a bidi override (display spoofing on a legal document)",
    route: "crm",
    override: patch({ legalName: "Acme \u202eHbmG\u202c" }),
    run: "FAILED: legalName must be plain text",
    emails: 0,
  },
  {
    answer: "a legal name with a zero-width space",
    route: "crm",
    override: patch({ legalName: "Acme\u200b Ltd" }),
    run: "FAILED: legalName must be plain text",
    emails: 0,
  },
  {
    answer: "extra fields in a CRM record (dropped, harmless)",
    route: "crm",
    override: patch({ phone: "+44 20 7946 0000", tier: "gold" }),
    run: "ALL_SENT",
    emails: 3,
  },
  {
    answer: "a negative overdue count",
    route: "ledger",
    override: patch({ overdueInvoices: -1 }),
    run: "FAILED: overdueInvoices must not be negative",
    emails: 0,
  },
  {
    answer: "a balance past Number.MAX_SAFE_INTEGER",
    route: "ledger",
    override: patch({ balanceCents: 2 ** 60 }),
    run: "FAILED: balanceCents must be a whole number of cents within the safe range",
    emails: 0,
  },
  {
    answer: "another customer's account",
    route: "ledger",
    override: patch({ customerId: "globex" }),
    run: 'FAILED: ledger answered about customer "globex"',
    emails: 0,
  },
  {
    answer: 'valid: "yes"',
    route: "tax",
    override: patch({ valid: "yes" }),
    run: "FAILED: valid must be a boolean",
    emails: 0,
  },
  {
    answer: "an extra field in the VAT answer (could change its meaning)",
    route: "tax",
    override: patch({ status: "revoked" }),
    run: 'FAILED: has unexpected fields: "status"',
    emails: 0,
  },
  {
    answer: "another VAT number",
    route: "tax",
    override: patch({ vatNumber: "GB999999999" }),
    run: 'FAILED: tax-registry answered about VAT number "GB999999999"',
    emails: 0,
  },
  {
    answer: "valid: false",
    route: "tax",
    override: patch({ valid: false }),
    run: "FAILED: does not know VAT number GB123456789 as valid: no invoice of batch 2026-11-acme was rendered or sent",
    emails: 0,
  },
];

// Exchange-rate quotes: reporting only. A bad quote is discarded and recorded; the batch is sent whatever.
const quote = (answer: string, override: Override, extra: Partial<Row> = {}): Row => ({
  answer,
  route: "fx-atlas",
  override,
  run: "ALL_SENT",
  emails: 3,
  discarded: ["atlas"],
  rate: 1.1505, // beacon 1.151 and cedar 1.15: the third provider, waited for instead
  ...extra,
});
const quotes: Row[] = [
  quote("not JSON", body("rate=1.15")),
  quote("an empty body", body("")),
  quote("{}", body("{}")),
  quote("null", body("null")),
  quote("0", body("0")),
  quote("a string", body('"1.15"')),
  quote("rate 0", patch({ rate: 0 })),
  quote("a negative rate", patch({ rate: -1.15 })),
  quote("a rate as a string", patch({ rate: "1.15" })),
  quote("a non-finite rate (1e999)", ({ normal }) => ({
    body: json(normal).replace(/"rate":[0-9.]+/, '"rate":1e999'),
  })),
  quote("a rate beyond any pair (1e9)", patch({ rate: 1e9 })),
  quote("the wrong currency pair", patch({ to: "USD" })),
  quote("a quote for another request (last month's, repeated)", patch({ requestId: "2026-10-acme:GBP-EUR" })),
  quote("an extra field (a unit of 100)", patch({ unit: 100 })),
  quote(`huge (${MAX_ANSWER_BYTES + 1} bytes)`, body(json({ pad: huge }))),
  quote("an outlier (a rate off by a factor of 10)", patch({ rate: 11.49 }), {
    // Atlas and beacon answered first and disagree: two cannot tell which is wrong, so there is no rate.
    discarded: ["atlas", "beacon"],
    rate: null,
  }),
  {
    answer: "{}, and so does beacon",
    route: "fx-atlas",
    override: body("{}"),
    also: ["fx-beacon", body("{}")],
    run: "ALL_SENT",
    emails: 3,
    discarded: ["atlas", "beacon"],
    rate: null,
  },
];

// The invoicing provider's answer to INV-1002's send. A 2xx it cannot read is in doubt: the email may be out.
// The step does not repeat it; the retry pass sends again with the same key, and the provider's record shows
// one email, never two.
const sends: Row[] = [
  {
    answer: "200, not JSON, once",
    route: "invoicing",
    override: forInvoice2(once(body("OK"))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "200, empty, once",
    route: "invoicing",
    override: forInvoice2(once(body(""))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "200, {} once",
    route: "invoicing",
    override: forInvoice2(once(body("{}"))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "200, another invoice's receipt (repeated), once",
    route: "invoicing",
    override: forInvoice2(once(patch({ invoiceId: "INV-1001", messageId: "msg-INV-1001" }))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "200, huge, once",
    route: "invoicing",
    override: forInvoice2(once(body(json({ pad: huge })))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    // What a provider replaying an earlier send's receipt answers: the key was used before for other content.
    answer: "200, its own receipt for another amount, every time (issued before, not resent)",
    route: "invoicing",
    override: forInvoice2(({ normal }) => ({
      body: json({ ...normal, amountCents: Number(normal.amountCents) + 1 }),
    })),
    run: "PARTIALLY_SENT",
    emails: 3,
    issuedBefore: ["INV-1002"],
    requests: 1,
    retryPass: false,
  },
  {
    answer: "200, its own receipt for another document, every time (issued before, not resent)",
    route: "invoicing",
    override: forInvoice2(patch({ documentKey: "invoices/2026-11-acme/INV-1002/0123456789abcdef" })),
    run: "PARTIALLY_SENT",
    emails: 3,
    issuedBefore: ["INV-1002"],
    requests: 1,
    retryPass: false,
  },
  {
    answer: "200 with an extra field, every time (stays in doubt)",
    route: "invoicing",
    override: forInvoice2(patch({ state: "queued" })),
    run: "PARTIALLY_SENT",
    emails: 3,
    inDoubt: ["INV-1002"],
    requests: 2,
    retryPass: true,
  },
  {
    answer: "500 after sending, once",
    route: "invoicing",
    override: forInvoice2(once(() => ({ status: 500, body: "oops", send: true }))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "a timeout after sending, once",
    route: "invoicing",
    override: forInvoice2(once(() => ({ delayMs: 600 }))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: true,
  },
  {
    answer: "503 (refused at the door), once: retried within the step",
    route: "invoicing",
    override: forInvoice2(once(() => ({ status: 503, body: "busy" }))),
    run: "ALL_SENT",
    emails: 3,
    requests: 2,
    retryPass: false,
  },
  {
    answer: "307 to another host: not followed, refused, reported",
    route: "invoicing",
    override: forInvoice2(() => ({ status: 307, body: "", location: "http://127.0.0.1:9/elsewhere" })),
    run: "PARTIALLY_SENT",
    emails: 2,
    failed: ["INV-1002"],
    requests: 1,
    retryPass: false,
  },
  {
    answer: "422 (refused): not retried, reported",
    route: "invoicing",
    override: forInvoice2(() => ({ status: 422, body: json({ error: "bad amount" }) })),
    run: "PARTIALLY_SENT",
    emails: 2,
    failed: ["INV-1002"],
    requests: 1,
    retryPass: false,
  },
];

describeLocal("malformed provider answers, through the real deps", () => {
  it.each<Row>([...lookups, ...quotes, ...sends])("$route answers $answer: $run", async (row) => {
    const world = await startHttpWorld();
    try {
      world.override(row.route, row.override);
      if (row.also) world.override(...row.also);
      const deps = createRealDeps(() => world.config(300), world.s3);
      const runner = new LocalDurableTestRunner<BillingRunResult>({
        handlerFunction: createHandler(deps, {
          ...quickConfig,
          // One invoice of three may fail without halting the pass, so that the retry pass runs.
          completionPolicy: { toleratedFailurePercentage: 50 },
        }),
      });

      const result = await runner.run({ payload: batch });

      if (row.run.startsWith("FAILED: ")) {
        expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
        expect(result.getError()?.errorMessage).toContain(row.run.slice("FAILED: ".length));
        // Before any side effect: nothing stored, nothing asked of the invoicing provider, nothing sent.
        expect(await world.storedKeys()).toEqual([]);
        expect(world.requestsTo("invoicing")).toEqual([]);
      } else {
        expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
        const outcome = result.getResult()!;
        expect(outcome.outcome).toBe(row.run);
        expect(outcome.inDoubt.map((entry) => entry.invoiceId)).toEqual(row.inDoubt ?? []);
        expect(outcome.failed.map((entry) => entry.invoiceId)).toEqual(row.failed ?? []);
        expect(outcome.issuedBefore.map((entry) => entry.invoiceId)).toEqual(row.issuedBefore ?? []);
        expect(outcome.fx?.discarded.map((entry) => entry.provider) ?? []).toEqual(row.discarded ?? []);
        if (row.rate === null) expect(outcome.reportingTotal).toBeUndefined();
        else expect(outcome.reportingTotal?.rate).toBe(row.rate ?? 1.15);
      }
      expect(world.emails).toHaveLength(row.emails);
      const asked =
        row.route === "invoicing"
          ? world.requestsTo("invoicing").filter((request) => request.body.includes('"INV-1002"'))
          : world.requestsTo(row.route);
      expect(asked).toHaveLength(row.requests ?? 1);
      if (row.retryPass !== undefined) {
        expect(runner.getOperation("retry-failed-invoices")?.getStatus() !== undefined).toBe(row.retryPass);
      }
      for (const invoice of batch.invoices)
        expect(world.emailsFor(invoice.invoiceId).length).toBeLessThanOrEqual(1);
      // What was emailed is what the batch says: amount, currency, the CRM's address.
      for (const email of world.emails) {
        const invoice = batch.invoices.find((candidate) => candidate.invoiceId === email.invoiceId)!;
        expect(email).toMatchObject({
          amountCents: invoice.amountCents,
          currency: "GBP",
          to: "billing@acme.example.com",
          idempotencyKey: `2026-11-acme:${invoice.invoiceId}`,
        });
      }
    } finally {
      await world.close();
    }
  });
});
