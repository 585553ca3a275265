import { z } from "zod";

/**
 * The invoice batch event. Parsing is pure and deterministic, so it runs outside any step: on every replay
 * it gives the same answer, and a bad batch fails the execution before the first invoice is touched.
 *
 * Why 1,000 invoices at most: each invoice costs 3 checkpointed operations in a NESTED map (its context,
 * a render step, a deliver step), up to 3 more if the retry pass sends it again, and the map's own result
 * (about 130 bytes per invoice) must stay under the 256 KB checkpoint limit. 1,000 keeps a run far from
 * both limits. Bigger batches: split them upstream, one execution per chunk.
 */
export const MAX_INVOICES_PER_BATCH = 1000;

const Invoice = z.object({
  invoiceId: z.string().regex(/^INV-[0-9]{1,12}$/, "must look like INV-1042"),
  amountCents: z.number().int("must be a whole number of cents").positive("must be positive"),
  issueDate: z.iso.date("must be a date (YYYY-MM-DD)"),
  purchaseOrder: z.string().min(1, "must not be empty").max(64, "must be at most 64 characters").optional(),
});

export const InvoiceBatchInput = z.object({
  batchId: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes"),
  customerId: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or dashes"),
  vatNumber: z.string().regex(/^[A-Z]{2}[A-Z0-9]{2,13}$/, "must be a VAT number such as GB123456789"),
  currency: z.enum(["USD", "EUR", "GBP"], "must be one of USD, EUR, GBP"),
  invoices: z
    .array(Invoice)
    .min(1, "must contain at least one invoice")
    .max(
      MAX_INVOICES_PER_BATCH,
      `must contain at most ${MAX_INVOICES_PER_BATCH} invoices (split larger batches)`,
    )
    // The invoice id names the map item and its steps, and keys the idempotent delivery: it must be unique.
    .superRefine((invoices, ctx) => {
      const seen = new Set<string>();
      invoices.forEach((invoice, index) => {
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

/** Problems are listed one per issue, at most 20, so a batch of 1,000 bad rows still gives a readable error. */
export function parseInvoiceBatch(event: unknown): InvoiceBatch {
  const parsed = InvoiceBatchInput.safeParse(event);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
  const shown = problems.slice(0, 20);
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more`);
  throw new InvalidBatchError(shown);
}
