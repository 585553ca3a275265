import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  InvalidBatchError,
  MAX_INVOICE_AMOUNT_CENTS,
  MAX_INVOICES_PER_BATCH,
  parseInvoiceBatch,
} from "../src";
import { quickConfig, sampleBatch, simulatedWorld } from "../src/demo";
import { createRunner, setupTestEnvironment, teardownTestEnvironment } from "./target";

// With DURABLE_TEST_TARGET=cloud the bad-input cases run against the deployed function (see target.ts): the
// batch is checked before any side effect, whatever services and config the function has.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const valid = sampleBatch(3);

describe("bad input fails before any work", () => {
  it.each<[string, unknown, string]>([
    ["an empty batch", { ...valid, invoices: [] }, "invoices must contain at least one invoice"],
    [
      "a batch beyond the maximum",
      sampleBatch(MAX_INVOICES_PER_BATCH + 1),
      "invoices must contain at most 1000 invoices (split larger batches)",
    ],
    [
      "a malformed invoice",
      {
        ...valid,
        invoices: [valid.invoices[0], { ...valid.invoices[1], amountCents: -5, issueDate: "30/11/2026" }],
      },
      "invoices[1].amountCents must be positive; invoices[1].issueDate must be a date (YYYY-MM-DD)",
    ],
    [
      "a duplicate invoice id",
      { ...valid, invoices: [valid.invoices[0], valid.invoices[1], valid.invoices[0]] },
      "invoices[2].invoiceId INV-1001 appears twice",
    ],
    ["an unknown currency", { ...valid, currency: "XYZ" }, "currency must be one of USD, EUR, GBP"],
    ["not an object", "send the invoices", "event must be an object"],
    [
      "missing fields",
      { ...valid, batchId: undefined, currency: undefined, invoices: [{ invoiceId: "INV-1001" }] },
      "batchId is required; currency is required; invoices[0].amountCents is required; invoices[0].issueDate is required",
    ],
    [
      "fields of the wrong type",
      {
        ...valid,
        customerId: 42,
        invoices: [{ ...valid.invoices[0], amountCents: "100.00", purchaseOrder: null }, "INV-1002"],
      },
      "customerId must be a string; invoices[0].amountCents must be a number; invoices[0].purchaseOrder must be a string, not null; invoices[1] must be an object",
    ],
    [
      "ids of only spaces",
      {
        ...valid,
        batchId: "   ",
        customerId: "      ",
        invoices: [{ ...valid.invoices[0], invoiceId: "   " }],
      },
      "batchId must be 3-64 letters, digits or dashes; customerId must be 3-64 letters, digits or dashes; invoices[0].invoiceId must look like INV-1042",
    ],
    [
      "100 KB strings (and the message does not repeat them)",
      {
        ...valid,
        customerId: "a".repeat(100 * 1024),
        invoices: [
          {
            ...valid.invoices[0],
            invoiceId: "INV-".padEnd(100 * 1024, "1"),
            purchaseOrder: "P".repeat(100 * 1024),
          },
          { ...valid.invoices[1], invoiceId: "INV-".padEnd(100 * 1024, "1") },
        ],
      },
      "customerId must be 3-64 letters, digits or dashes; invoices[0].invoiceId must look like INV-1042; invoices[0].purchaseOrder must be at most 64 characters; invoices[1].invoiceId must look like INV-1042",
    ],
    [
      "amounts past Number.MAX_SAFE_INTEGER, past the maximum, fractional, or 1e300",
      {
        ...valid,
        invoices: [
          { ...valid.invoices[0], amountCents: Number.MAX_SAFE_INTEGER + 2 },
          { ...valid.invoices[1], amountCents: MAX_INVOICE_AMOUNT_CENTS + 1 },
          { ...valid.invoices[2], amountCents: 10.5 },
          { ...valid.invoices[2], invoiceId: "INV-2001", amountCents: 1e300 },
        ],
      },
      "invoices[0].amountCents must be at most 1000000000 cents (10,000,000.00); invoices[1].amountCents must be at most 1000000000 cents (10,000,000.00); invoices[2].amountCents must be a whole number of cents; invoices[3].amountCents must be at most 1000000000 cents (10,000,000.00)",
    ],
    [
      "a blank purchase order",
      { ...valid, invoices: [{ ...valid.invoices[0], purchaseOrder: "   " }] },
      "invoices[0].purchaseOrder must be printable text, not blank",
    ],
    [
      // It would otherwise be billed in the batch's currency, the field silently dropped.
      "an invoice with a field the pattern does not understand (its own currency)",
      { ...valid, invoices: [valid.invoices[0], { ...valid.invoices[1], currency: "EUR" }] },
      'invoices[1] has unexpected fields: "currency" (not understood, so not ignored)',
    ],
    [
      "a batch with a field the pattern does not understand (a discount)",
      { ...valid, discountPercent: 50 },
      'event has unexpected fields: "discountPercent" (not understood, so not ignored)',
    ],
  ])("%s", async (_label, payload, problems) => {
    const world = simulatedWorld();
    const runner = createRunner({
      handler: createHandler(world.deps, quickConfig),
      cloudOutput: "MapParallelHandlerAliasArn",
    });

    const result = await runner.run({ payload });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "InvalidBatchError",
      errorMessage: `Invalid invoice batch: ${problems}`,
    });
    expect(result.getOperations()).toHaveLength(0);
    // Locally the fakes saw no call; in the cloud (real services) the empty operation list is the proof.
    expect(world.lookups).toEqual([]);
    expect(world.renders).toEqual([]);
    expect(world.deliveries).toEqual([]);
  });

  it("lists at most 20 problems, then how many more", () => {
    const batch = sampleBatch(30);
    const bad = { ...batch, invoices: batch.invoices.map((invoice) => ({ ...invoice, amountCents: 0 })) };
    let error: unknown;
    try {
      parseInvoiceBatch(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidBatchError);
    const problems = (error as InvalidBatchError).problems;
    expect(problems).toHaveLength(21);
    expect(problems[0]).toBe("invoices[0].amountCents must be positive");
    expect(problems[20]).toBe("and 10 more");
  });

  it("accepts the largest amount, and a batch of them sums exactly", () => {
    const batch = sampleBatch(MAX_INVOICES_PER_BATCH);
    const largest = {
      ...batch,
      invoices: batch.invoices.map((invoice) => ({ ...invoice, amountCents: MAX_INVOICE_AMOUNT_CENTS })),
    };
    const parsed = parseInvoiceBatch(largest);
    const total = parsed.invoices.reduce((sum, invoice) => sum + invoice.amountCents, 0);
    expect(total).toBe(MAX_INVOICES_PER_BATCH * MAX_INVOICE_AMOUNT_CENTS);
    expect(Number.isSafeInteger(total)).toBe(true);
  });

  it("accepts a batch of exactly the maximum", () => {
    expect(parseInvoiceBatch(sampleBatch(MAX_INVOICES_PER_BATCH)).invoices).toHaveLength(
      MAX_INVOICES_PER_BATCH,
    );
  });
});
