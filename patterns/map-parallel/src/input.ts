// zod/mini, not "zod": the same validation with functional checks, which the bundler tree-shakes. The classic
// `import { z } from "zod"` alone put about 440 KB into this Lambda bundle, whatever the schema used.
import * as z from "zod/mini";

/**
 * The invoice batch event. Parsing is pure and deterministic, so it runs outside any step: on every replay
 * it gives the same answer, and a bad batch fails the execution before the first invoice is touched.
 *
 * Why 1,000 invoices at most: each invoice costs 3 checkpointed operations in a NESTED map (its context,
 * a render step, a deliver step), up to 3 more if the retry pass sends it again, and the map's own result
 * (about 160 bytes per invoice) must stay under the 256 KB checkpoint limit. 1,000 keeps a run far from
 * both limits. Bigger batches: split them upstream, one execution per chunk.
 */
export const MAX_INVOICES_PER_BATCH = 1000;

/**
 * Amounts are integers in minor units (cents, pence: every accepted currency has two decimals), at most
 * 10,000,000.00 per invoice. So a batch totals at most 10^12 minor units, every sum is exact (far below
 * Number.MAX_SAFE_INTEGER, 9 x 10^15), and so is its conversion at any accepted rate (see fx-rate.ts).
 */
export const MAX_INVOICE_AMOUNT_CENTS = 1_000_000_000;

const INVOICE_ID = /^INV-[0-9]{1,12}$/;

// Strict: a field this pattern does not understand (an invoice's own currency, a discount) could change what
// the customer owes. It is refused, never dropped: the batch fails before any work and says which field.
const Invoice = z.strictObject({
  invoiceId: z.string().check(z.regex(INVOICE_ID, "must look like INV-1042")),
  amountCents: z
    .number()
    .check(
      z.refine(Number.isInteger, "must be a whole number of cents"),
      z.positive("must be positive"),
      z.lte(MAX_INVOICE_AMOUNT_CENTS, `must be at most ${MAX_INVOICE_AMOUNT_CENTS} cents (10,000,000.00)`),
    ),
  issueDate: z.iso.date({ error: unlessMissing("must be a date (YYYY-MM-DD)") }),
  purchaseOrder: z.optional(
    z
      .string()
      .check(
        z.maxLength(64, "must be at most 64 characters"),
        z.regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "must be printable text, not blank"),
      ),
  ),
});

const Key = z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes"));

export const InvoiceBatchInput = z.strictObject({
  batchId: Key,
  customerId: Key,
  vatNumber: z
    .string()
    .check(z.regex(/^[A-Z]{2}[A-Z0-9]{2,13}$/, "must be a VAT number such as GB123456789")),
  currency: z.enum(["USD", "EUR", "GBP"], { error: unlessMissing("must be one of USD, EUR, GBP") }),
  invoices: z.array(Invoice).check(
    z.minLength(1, "must contain at least one invoice"),
    z.maxLength(
      MAX_INVOICES_PER_BATCH,
      `must contain at most ${MAX_INVOICES_PER_BATCH} invoices (split larger batches)`,
    ),
    // The invoice id names the map item and its steps, and keys the idempotent delivery: it must be unique.
    z.superRefine((invoices, ctx) => {
      const seen = new Set<string>();
      invoices.forEach((invoice, index) => {
        // This check runs even when an id is malformed: only well-formed ids (short) go into a message.
        if (typeof invoice?.invoiceId !== "string" || !INVOICE_ID.test(invoice.invoiceId)) return;
        if (seen.has(invoice.invoiceId)) {
          ctx.addIssue({
            code: "custom",
            path: [index, "invoiceId"],
            message: `${invoice.invoiceId} appears twice`,
          });
        }
        seen.add(invoice.invoiceId);
      });
    }),
  ),
});

export type InvoiceBatch = z.infer<typeof InvoiceBatchInput>;
export type Invoice = z.infer<typeof Invoice>;

/** Thrown for a batch that can never succeed. The handler throws it before any operation, so nothing retries it. */
export class InvalidBatchError extends Error {
  override readonly name = "InvalidBatchError";
  constructor(readonly problems: string[] = []) {
    super(`Invalid invoice batch: ${problems.join("; ")}`);
  }
}

export function parseInvoiceBatch(event: unknown): InvoiceBatch {
  const parsed = InvoiceBatchInput.safeParse(event, { error: defaultMessages });
  if (parsed.success) return parsed.data;
  throw invalidBatch(parsed.error.issues);
}

/** Problems are listed one per issue, at most 20, so a batch of 1,000 bad rows still gives a readable error. */
export function invalidBatch(issues: readonly { path: PropertyKey[]; message: string }[]): InvalidBatchError {
  const problems = issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
  const shown = problems.slice(0, 20);
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more`);
  return new InvalidBatchError(shown);
}

/**
 * Messages for the problems the schema does not word itself. zod/mini ships no English messages (its
 * default is "Invalid input"), so the parse passes this map: "is required", "must be an array".
 * A message set on a schema or a check wins over it.
 */
export const defaultMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40)));
    return `has unexpected fields: ${keys.join(", ")} (not understood, so not ignored)`;
  }
  if (issue.input === undefined) return "is required";
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === null) return `must be ${article(issue.expected)} ${issue.expected}, not null`;
  if (issue.expected === "number" && typeof issue.input === "number") return "must be a finite number";
  return `must be ${article(issue.expected)} ${issue.expected}`;
};

const article = (word: string) => (/^[aeiou]/.test(word) ? "an" : "a");

/** A schema's own message for a value that is there but wrong; a missing one falls through to "is required". */
function unlessMissing(message: string): z.core.$ZodErrorMap {
  return (issue) => (issue.input === undefined ? undefined : message);
}
