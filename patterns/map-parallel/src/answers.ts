import * as z from "zod/mini";

/**
 * What the providers' answers must look like before the workflow believes them. A dep's TypeScript type is a
 * promise made by whoever wrote it, not a check, so every answer reaches the workflow as `unknown` and is parsed
 * here, inside the step that received it: only a checked answer is ever checkpointed. Each parse also checks the
 * answer against the question (the customer, VAT number, currency pair, request or invoice asked about): a
 * well-formed answer about something else is a wrong answer.
 *
 * Strict (unknown fields refused) where an extra field could change the meaning: a quote with a `unit` or
 * `inverse` field, a VAT answer with a `status`, a delivery answer with a `state` that says "queued" or
 * "rejected". Lenient (unknown fields dropped) where the workflow reads a few fields of a larger record.
 */

/** The largest answer body the real deps read; a larger one is refused without being read to the end. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** An answer the workflow cannot accept: not JSON, too large, the wrong shape, or about something else. */
export class AnswerRejectedError extends Error {
  override readonly name = "AnswerRejectedError";
  constructor(message = "answer rejected") {
    super(message);
  }
}

const text = (max: number) =>
  z.string().check(
    z.minLength(1, "must not be empty"),
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((value) => value.trim() === value && !hasControlCharacter(value), "must be plain text"),
  );
/**
 * Control and format characters: C0/C1 controls, and the invisible ones (zero-width spaces, bidi overrides and
 * isolates such as U+202E, which would make "Acme \u202eHbmG" display as another name on a legal document),
 * line and paragraph separators, lone surrogates, private-use characters.
 */
const hasControlCharacter = (value: string) => /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\u2028\u2029]/u.test(value);
const count = (max: number) =>
  z
    .number()
    .check(
      z.refine(Number.isInteger, "must be a whole number"),
      z.gte(0, "must not be negative"),
      z.lte(max, `must be at most ${max}`),
    );

const CrmAnswer = z.object({
  customerId: text(64),
  legalName: text(200),
  billingEmail: z.email({ error: "must be an email address" }).check(z.maxLength(254, "is too long")),
  country: z.string().check(z.regex(/^[A-Z]{2}$/, "must be a two-letter country code")),
});

const LedgerAnswer = z.object({
  customerId: text(64),
  balanceCents: z
    .number()
    .check(z.refine(Number.isSafeInteger, "must be a whole number of cents within the safe range")),
  overdueInvoices: count(100_000),
});

const TaxAnswer = z.strictObject({ vatNumber: text(32), valid: z.boolean() });

/** The largest rate accepted from any pair: keeps every converted amount exact (see fx-rate.ts). */
export const MAX_FX_RATE = 1000;
const FxAnswer = z.strictObject({
  requestId: text(128),
  from: z.string().check(z.regex(/^[A-Z]{3}$/, "must be a currency code")),
  to: z.string().check(z.regex(/^[A-Z]{3}$/, "must be a currency code")),
  rate: z
    .number()
    .check(z.gte(0.0001, "must be at least 0.0001"), z.lte(MAX_FX_RATE, `must be at most ${MAX_FX_RATE}`)),
});

/** The receipt repeats what was sent, so that it can be checked against what this send asked for. */
const DeliveryAnswer = z.strictObject({
  invoiceId: text(64),
  messageId: z.string().check(z.regex(/^[A-Za-z0-9._:@-]{1,128}$/, "must be 1-128 letters, digits or ._:@-")),
  to: text(254),
  documentKey: text(512),
  amountCents: z.number().check(z.refine(Number.isSafeInteger, "must be a whole number of cents")),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, "must be a currency code")),
});

export interface CrmRecord {
  source: "crm";
  legalName: string;
  billingEmail: string;
  country: string;
}
export interface LedgerAccount {
  source: "ledger";
  balanceCents: number;
  overdueInvoices: number;
}
export interface TaxStatus {
  source: "tax-registry";
  vatNumber: string;
  valid: boolean;
}
/** The question put to an exchange-rate provider: the answer must repeat all three. */
export interface FxQuoteRequest {
  requestId: string;
  from: string;
  to: string;
}
/** A quote the workflow accepted. `rateMicros`: the rate in millionths, an integer (see fx-rate.ts). */
export interface FxQuote {
  provider: string;
  rateMicros: number;
}

export function crmRecord(answer: unknown, customerId: string): CrmRecord {
  const { customerId: about, ...record } = parse("crm", CrmAnswer, answer);
  expectSame("crm", "customer", about, customerId);
  return { source: "crm", ...record };
}

export function ledgerAccount(answer: unknown, customerId: string): LedgerAccount {
  const { customerId: about, ...account } = parse("ledger", LedgerAnswer, answer);
  expectSame("ledger", "customer", about, customerId);
  return { source: "ledger", ...account };
}

export function taxStatus(answer: unknown, vatNumber: string): TaxStatus {
  const status = parse("tax-registry", TaxAnswer, answer);
  expectSame("tax-registry", "VAT number", status.vatNumber, vatNumber);
  return { source: "tax-registry", ...status };
}

/**
 * A quote, checked against the request. The rate is kept in millionths, rounded half up: 1.1523456 becomes
 * 1152346, and a rate that rounds below one millionth cannot occur (the schema's minimum is 0.0001).
 */
export function fxQuote(provider: string, answer: unknown, request: FxQuoteRequest): FxQuote {
  const who = `fx-${provider}`;
  const quote = parse(who, FxAnswer, answer);
  expectSame(who, "request", quote.requestId, request.requestId);
  expectSame(who, "currency pair", `${quote.from}/${quote.to}`, `${request.from}/${request.to}`);
  return { provider, rateMicros: Math.round(quote.rate * 1_000_000) };
}

/**
 * A receipt for this invoice that repeats other content: the provider answered a repeat of the idempotency key
 * with the receipt of an earlier send (a rerun of the batch with a corrected amount, a new legal name, a new
 * billing address), and sent nothing now. The customer has the earlier invoice; this one was not sent.
 */
export class IssuedWithOtherContentError extends Error {
  override readonly name = "IssuedWithOtherContentError";
  constructor(message = "issued earlier with other content") {
    super(message);
  }
}

/** What a send asked for, which its receipt must repeat. */
export interface SentContent {
  invoiceId: string;
  to: string;
  documentKey: string;
  amountCents: number;
  currency: string;
}

/**
 * The invoicing provider's receipt, which must be for the invoice sent (else it is an answer about something
 * else: in doubt) and for the content sent (else the key was used before for other content: see
 * IssuedWithOtherContentError). A receipt is believed only for exactly what was asked.
 */
export function deliveryReceipt(answer: unknown, sent: SentContent): { messageId: string } {
  const receipt = parse("invoicing", DeliveryAnswer, answer);
  expectSame("invoicing", "invoice", receipt.invoiceId, sent.invoiceId);
  const differs = (["to", "documentKey", "amountCents", "currency"] as const).filter(
    (field) => receipt[field] !== sent[field],
  );
  if (differs.length > 0) {
    const detail = differs
      .map((field) => `${field} ${JSON.stringify(receipt[field])}, not ${JSON.stringify(sent[field])}`)
      .join("; ");
    throw new IssuedWithOtherContentError(
      `invoicing answered ${sent.invoiceId}'s key with the receipt of an earlier send with other content ` +
        `(${bounded(detail, 400)}): nothing new was sent`,
    );
  }
  return { messageId: receipt.messageId };
}

/** A cut-down copy of a text that may be long (answers.ts cannot import call-outcomes.ts, which imports it). */
function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

function parse<T>(who: string, schema: z.ZodMiniType<T>, answer: unknown): T {
  const parsed = schema.safeParse(answer, { error: answerMessages });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".");
    return path === "" ? issue.message : `${path} ${issue.message}`;
  });
  throw new AnswerRejectedError(`${who} answered something we cannot accept: ${problems.join("; ")}`);
}

function expectSame(who: string, what: string, answered: string, asked: string): void {
  if (answered !== asked) {
    throw new AnswerRejectedError(
      `${who} answered about ${what} ${JSON.stringify(answered)}, but was asked about ${JSON.stringify(asked)}`,
    );
  }
}

/** zod/mini has no English messages: these word the problems no schema words itself. */
const answerMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "unrecognized_keys") {
    return `has unexpected fields: ${issue.keys
      .slice(0, 5)
      .map((key) => JSON.stringify(key.slice(0, 40)))
      .join(", ")}`;
  }
  if (issue.input === undefined) return "is missing";
  if (issue.code !== "invalid_type") return undefined;
  const expected = `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
  if (issue.input === null) return `must be ${expected}, not null`;
  if (issue.expected === "number" && typeof issue.input === "number") return "must be a finite number";
  return `must be ${expected}`;
};
