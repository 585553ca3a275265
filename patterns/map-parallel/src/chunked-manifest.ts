import * as z from "zod/mini";
import { defaultMessages, InvoiceBatchInput, type Invoice } from "./input";

/**
 * The chunked run's batch manifest: the invoices of one batch in one S3 object, named by reference in the event,
 * so the event stays a few hundred bytes whatever the batch's size (the service takes at most 256 KB of input).
 *
 * The format is fixed-width lines, so that any chunk's invoices are one HTTP Range read, computed from the line
 * number alone, with no index to build or checkpoint:
 *
 * - every line is exactly `recordBytes` bytes, the last of them `\n`: JSON, padded with spaces;
 * - line 0 is the header, `{"format":"invoice-manifest/1","batchId":...,"customerId":...,"currency":...,
 *   "invoices":N,"recordBytes":W}`;
 * - lines 1 to N are the invoices, one each, in the per-item batch's invoice shape;
 * - the object is exactly (N + 1) x W bytes (a truncated or appended manifest is refused before any send).
 *
 * Printable ASCII only (every field of an invoice is). A malformed line cannot shift the lines after it: each is
 * read at its own offset, and is reported alone, never sent. `manifestOf` writes one.
 */
export const MANIFEST_FORMAT = "invoice-manifest/1";
export const MIN_RECORD_BYTES = 64;
/** The first read takes this many bytes, so it holds the header line (which is one record wide). */
export const MAX_RECORD_BYTES = 1024;

const Key = InvoiceBatchInput.shape.batchId;
export const ManifestHeader = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  batchId: Key,
  customerId: InvoiceBatchInput.shape.customerId,
  currency: InvoiceBatchInput.shape.currency,
  invoices: z.number().check(z.int(), z.positive()),
  recordBytes: z.number().check(z.int(), z.gte(MIN_RECORD_BYTES), z.lte(MAX_RECORD_BYTES)),
});
export type ManifestHeader = z.infer<typeof ManifestHeader>;

const InvoiceLine = InvoiceBatchInput.shape.invoices.def.element;

/** A manifest that cannot be used: named with what is wrong, before any invoice of it is sent. */
export class InvalidManifestError extends Error {
  override readonly name = "InvalidManifestError";
}

/** Writes a manifest: the width is the longest line's, at least MIN_RECORD_BYTES. For producers and tests. */
export function manifestOf(
  header: Pick<ManifestHeader, "batchId" | "customerId" | "currency">,
  invoices: unknown[],
) {
  const { batchId, customerId, currency } = header;
  const lines = invoices.map((invoice) => JSON.stringify(invoice));
  const head = (width: number) =>
    JSON.stringify({
      format: MANIFEST_FORMAT,
      batchId,
      customerId,
      currency,
      invoices: invoices.length,
      recordBytes: width,
    });
  let width = Math.max(MIN_RECORD_BYTES, ...lines.map((line) => line.length + 1));
  // The header names the width: widen until it fits its own line.
  while (head(width).length + 1 > width) width = head(width).length + 1;
  if (width > MAX_RECORD_BYTES)
    throw new InvalidManifestError(`a line needs ${width} bytes, over ${MAX_RECORD_BYTES}`);
  const body = Buffer.alloc((invoices.length + 1) * width, 0x20);
  [head(width), ...lines].forEach((line, index) => {
    body.write(line, index * width, "latin1");
    body[(index + 1) * width - 1] = 0x0a;
  });
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

/** The header from the first bytes of a manifest (at least its first line), checked against its size. */
export function parseHeader(first: Uint8Array, objectBytes: number, where: string): ManifestHeader {
  const end = first.indexOf(0x0a);
  if (end < 0) {
    throw new InvalidManifestError(
      `${where}: no header line in its first ${first.byteLength} bytes (format ${MANIFEST_FORMAT})`,
    );
  }
  const text = Buffer.from(first.subarray(0, end)).toString("latin1");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidManifestError(`${where}: its header line is not JSON (format ${MANIFEST_FORMAT})`);
  }
  const parsed = ManifestHeader.safeParse(json, { error: defaultMessages });
  if (!parsed.success) {
    throw new InvalidManifestError(`${where}: its header ${problemsOf(parsed.error.issues).join("; ")}`);
  }
  const header = parsed.data;
  if (header.recordBytes !== end + 1) {
    throw new InvalidManifestError(
      `${where}: its header line is ${end + 1} bytes, but says recordBytes ${header.recordBytes}`,
    );
  }
  const expected = (header.invoices + 1) * header.recordBytes;
  if (objectBytes !== expected) {
    throw new InvalidManifestError(
      `${where}: ${objectBytes} bytes, not the ${expected} its header makes ((${header.invoices} invoices + 1) x ` +
        `${header.recordBytes}): truncated or appended to`,
    );
  }
  return header;
}

/** One line of the manifest: an invoice, or why it is not one (naming the line, the invoice and the field). */
export type ManifestLine =
  { line: number; invoice: Invoice } | { line: number; invoiceId?: string; problem: string };

/** Line `line` (1-based: line 0 is the header) from its record's bytes. */
export function parseLine(record: Uint8Array, line: number): ManifestLine {
  const width = record.byteLength;
  if (record[width - 1] !== 0x0a)
    return { line, problem: `line ${line} does not end in a newline where its width says` };
  for (let i = 0; i < width - 1; i += 1) {
    const byte = record[i]!;
    if (byte < 0x20 || byte > 0x7e)
      return { line, problem: `line ${line} has a byte that is not printable ASCII (at ${i})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(record.subarray(0, width - 1)).toString("latin1"));
  } catch {
    return { line, problem: `line ${line} is not JSON` };
  }
  const parsed = InvoiceLine.safeParse(json, { error: defaultMessages });
  if (parsed.success) return { line, invoice: parsed.data };
  const id = (json as { invoiceId?: unknown } | null)?.invoiceId;
  const invoiceId = typeof id === "string" && /^INV-[0-9]{1,12}$/.test(id) ? id : undefined;
  const who = invoiceId ? `line ${line} (${invoiceId})` : `line ${line}`;
  return {
    line,
    ...(invoiceId ? { invoiceId } : {}),
    problem: `${who}: ${problemsOf(parsed.error.issues).join("; ")}`,
  };
}

function problemsOf(issues: z.core.$ZodIssue[]): string[] {
  return issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".");
    return path === "" ? issue.message : `${path} ${issue.message}`;
  });
}

/**
 * The byte ranges to read for some invoices (0-based positions, sorted): consecutive positions, and gaps of up to
 * `gap` records, share one read, so a retry of scattered invoices neither reads the whole manifest nor makes one
 * request per invoice.
 */
export function rangesFor(positions: number[], recordBytes: number, gap = 64) {
  const ranges: Array<{ first: number; last: number; start: number; end: number }> = [];
  for (const position of positions) {
    const open = ranges[ranges.length - 1];
    if (open && position - open.last <= gap + 1) open.last = position;
    else ranges.push({ first: position, last: position, start: 0, end: 0 });
  }
  for (const range of ranges) {
    range.start = (range.first + 1) * recordBytes;
    range.end = (range.last + 2) * recordBytes - 1;
  }
  return ranges;
}
