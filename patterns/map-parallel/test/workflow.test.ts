import { NestingType, OperationSubType } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  OperationType,
} from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  documentKey,
  PROVIDER_CONCURRENCY_LIMIT,
  SEND_STATUS_RULES,
  type BillingRunResult,
  type WorkflowConfig,
} from "../src";
import { gate, quickConfig, sampleBatch, simulatedWorld, type WorldOptions } from "../src/demo";
import { crashAfter } from "./crash";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): every run here reads the simulated world (lookups, renders, deliveries, calls in
// flight), injects faults or latencies into it, or shortens the cool-down and backoff through the config.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

async function runBatch(
  options: WorldOptions = {},
  config: Partial<WorkflowConfig> = quickConfig,
  invoices = 8,
) {
  const world = simulatedWorld(options);
  const runner = new LocalDurableTestRunner<BillingRunResult>({
    handlerFunction: createHandler(world.deps, config),
  });
  const result = await runner.run({ payload: sampleBatch(invoices) });
  const names = result.getOperations().map((operation) => operation.getName());
  return { world, runner, result, names };
}

/** The message a delivery refused with a 503 ends with: the verdict first, then the provider's words. */
const unavailable = (invoiceId: string) =>
  `[not sent] invoicing provider unavailable for ${invoiceId} (503) (${SEND_STATUS_RULES[503]!.reason})`;

/** Where the simulated renderer's 300 KB document for an invoice of the sample batch is stored. */
const simulatedDocumentKey = (invoiceId: string) =>
  documentKey("2026-11-acme", invoiceId, new Uint8Array(300 * 1024).fill(0x25));

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `INV-${from + i}`);

describeLocal("a clean run", () => {
  it("enriches the customer, checks credit, sends every invoice once, and skips the retry pass", async () => {
    const { world, runner, result, names } = await runBatch();

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome).toMatchObject({
      batchId: "2026-11-acme",
      customerId: "acme",
      outcome: "ALL_SENT",
      paymentTermsDays: 30,
      firstPass: {
        status: "SUCCEEDED",
        completionReason: "ALL_COMPLETED",
        invoices: 8,
        succeeded: 8,
        failed: 0,
        inFlight: 0,
        notStarted: 0,
      },
      failed: [],
      issuedBefore: [],
      unfinished: [],
    });
    expect(outcome.retryPass).toBeUndefined();
    const total = sampleBatch(8).invoices.reduce((sum, invoice) => sum + invoice.amountCents, 0);
    expect(outcome.sentTotal).toEqual({ currency: "GBP", amountCents: total });
    // At the mean of the first two FX quotes to arrive: atlas (1.149) and beacon (1.151), rounded half up.
    expect(outcome.reportingTotal).toEqual({
      currency: "EUR",
      amountCents: Math.round((total * 115) / 100),
      rate: 1.15,
    });
    expect(outcome.fx).toMatchObject({
      outcome: "AGREED",
      quotes: [
        { provider: "atlas", rateMicros: 1_149_000 },
        { provider: "beacon", rateMicros: 1_151_000 },
      ],
      discarded: [],
    });
    expect(outcome.inDoubt).toEqual([]);
    // The provider's own record: each invoice emailed once, for its own amount, to the CRM's billing address.
    expect(world.emails.map(({ invoiceId, amountCents, to }) => ({ invoiceId, amountCents, to }))).toEqual(
      expect.arrayContaining(
        sampleBatch(8).invoices.map(({ invoiceId, amountCents }) => ({
          invoiceId,
          amountCents,
          to: "billing@acme.example.com",
        })),
      ),
    );
    expect(world.emails).toHaveLength(8);
    expect(outcome.sent.map((sent) => sent.invoiceId)).toEqual(ids(1001, 1008));
    expect(outcome.sent[0]).toEqual({
      invoiceId: "INV-1001",
      documentKey: simulatedDocumentKey("INV-1001"),
      messageId: "msg-INV-1001",
    });
    expect(world.accepted()).toEqual(expect.arrayContaining(ids(1001, 1008)));
    expect(world.deliveries).toHaveLength(8);
    expect(world.deliveries[0]!.idempotencyKey).toBe("2026-11-acme:INV-1001");
    expect(names).not.toContain("cool-down-before-retry");
    expect(names).not.toContain("retry-failed-invoices");

    const map = runner.getOperation("send-invoices");
    expect(map.getType()).toBe(OperationType.CONTEXT);
    expect(map.getSubType()).toBe(OperationSubType.MAP);
    const item = runner.getOperation("invoice-INV-1004");
    expect(item.getSubType()).toBe(OperationSubType.MAP_ITERATION);
    expect(item.getChildOperations()?.map((child) => child.getName())).toEqual([
      "render-INV-1004",
      "deliver-INV-1004",
    ]);
    expect(runner.getOperation("deliver-INV-1004").getStepDetails()?.result).toEqual({
      messageId: "msg-INV-1004",
    });
  });
});

describeLocal("parallel branches", () => {
  it("enriches the customer from three named, heterogeneous branches", async () => {
    const { world, runner, result } = await runBatch();

    const enrich = runner.getOperation("enrich-customer");
    expect(enrich.getSubType()).toBe(OperationSubType.PARALLEL);
    expect(enrich.getChildOperations()?.map((branch) => branch.getName())).toEqual([
      "crm",
      "ledger",
      "tax-registry",
    ]);
    expect(runner.getOperation("crm").getSubType()).toBe(OperationSubType.PARALLEL_BRANCH);
    // Each branch returns its own type; the results come back in branch order.
    expect(runner.getOperation("load-crm-record").getStepDetails()?.result).toEqual({
      source: "crm",
      legalName: "Customer acme Ltd",
      billingEmail: "billing@acme.example.com",
      country: "GB",
    });
    expect(runner.getOperation("load-ledger-account").getStepDetails()?.result).toEqual({
      source: "ledger",
      balanceCents: 125_000,
      overdueInvoices: 0,
    });
    expect(runner.getOperation("check-vat-number").getStepDetails()?.result).toEqual({
      source: "tax-registry",
      vatNumber: "GB123456789",
      valid: true,
    });
    expect(world.lookups.slice(0, 3).sort()).toEqual(["crm", "ledger", "tax-registry"]);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
  });

  it("fails the run before any invoice when a required source is down (throwIfError)", async () => {
    const { world, runner, result, names } = await runBatch({ down: ["ledger"] });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "ChildContextError",
      errorMessage: "ledger is unavailable (503)",
    });
    expect(runner.getOperation("load-ledger-account").getStepDetails()?.attempt).toBe(3); // the lookup retries
    expect(runner.getOperation("ledger").getStatus()).toBe(OperationStatus.FAILED);
    expect(names).not.toContain("send-invoices");
    expect(world.renders).toEqual([]);
    expect(world.deliveries).toEqual([]);
  });

  it("uses the fastest two of three FX quotes and does not wait for the third", async () => {
    // Cedar's quote is held until the run has returned: it is still running when checked, however slow the machine.
    const cedar = gate();
    const { runner, result, names } = await runBatch({ holdFxQuote: { cedar: cedar.opened } });

    const quote = runner.getOperation("quote-fx-rate");
    expect(quote.getSubType()).toBe(OperationSubType.PARALLEL);
    expect(names.at(-1)).toBe("rate-from-cedar"); // the last operation of the run, after every invoice
    expect(quote.getContextDetails()?.result).toMatchObject({ completionReason: "MIN_SUCCESSFUL_REACHED" });
    expect(runner.getOperation("fx-atlas").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(runner.getOperation("fx-beacon").getStatus()).toBe(OperationStatus.SUCCEEDED);
    // Cedar was still answering when two quotes were in: the run went on without it. Not cancelled, not awaited.
    expect(runner.getOperation("fx-cedar").getStatus()).toBe(OperationStatus.STARTED);
    expect(runner.getOperation("rate-from-cedar").getStatus()).toBe(OperationStatus.STARTED);
    expect(result.getResult()?.reportingTotal?.rate).toBe(1.15);
    cedar.open(); // it answers now; its parent has finished, so the SDK drops its checkpoint
  });

  it("takes whichever two answer first: a slow atlas is the one left out", async () => {
    const atlas = gate(); // held until the run has returned
    const { runner, result } = await runBatch({
      holdFxQuote: { atlas: atlas.opened },
      fxLatencyMs: { cedar: 10 },
    });

    expect(runner.getOperation("fx-atlas").getStatus()).toBe(OperationStatus.STARTED);
    expect(runner.getOperation("fx-cedar").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(result.getResult()?.reportingTotal?.rate).toBe(1.1505); // (beacon 1.151 + cedar 1.15) / 2
    atlas.open();
  });

  it("still takes two quotes when one provider is down, and reports without a rate when two are", async () => {
    const oneDown = await runBatch({ down: ["atlas"] });
    expect(oneDown.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    // Atlas failed, or was still between retries when beacon and cedar had answered (timing decides which):
    // either way the quote went on with the two answers it had.
    expect([OperationStatus.FAILED, OperationStatus.STARTED]).toContain(
      oneDown.runner.getOperation("fx-atlas").getStatus(),
    );
    expect(oneDown.runner.getOperation("fx-cedar").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(oneDown.result.getResult()?.reportingTotal?.rate).toBe(1.1505);

    const twoDown = await runBatch({ down: ["atlas", "beacon"] });
    expect(twoDown.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    // minSuccessful alone never stops on failures: all three ran to the end, and only one answered.
    expect(twoDown.runner.getOperation("quote-fx-rate").getContextDetails()?.result).toMatchObject({
      completionReason: "ALL_COMPLETED",
    });
    expect(twoDown.runner.getOperation("fx-atlas").getStatus()).toBe(OperationStatus.FAILED);
    expect(twoDown.runner.getOperation("fx-beacon").getStatus()).toBe(OperationStatus.FAILED);
    expect(twoDown.runner.getOperation("fx-cedar").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(twoDown.result.getResult()?.reportingTotal).toBeUndefined();
    expect(twoDown.result.getResult()?.outcome).toBe("ALL_SENT");
  });
});

// The provider holds the first deliveries until the peak a test expects is in flight (holdDeliveriesUntilInFlight):
// short deliveries would otherwise overlap less on a busy machine. A map that never reached the peak would keep
// them held, and the test would time out.
describeLocal("concurrency", () => {
  it("never has more deliveries in flight than the provider's limit, and reaches it", async () => {
    const { world, result } = await runBatch(
      { holdDeliveriesUntilInFlight: PROVIDER_CONCURRENCY_LIMIT },
      { ...quickConfig, maxConcurrency: PROVIDER_CONCURRENCY_LIMIT },
      30,
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.maxInFlight()).toBe(PROVIDER_CONCURRENCY_LIMIT);
    expect(world.deliveries.filter((delivery) => delivery.outcome === "throttled")).toEqual([]);
    expect(world.deliveries).toHaveLength(30);
  });

  it("a maxConcurrency above the limit earns 429s from the provider (why the two must match)", async () => {
    const { world } = await runBatch(
      { holdDeliveriesUntilInFlight: PROVIDER_CONCURRENCY_LIMIT + 1 },
      { ...quickConfig, maxConcurrency: 8, deliveryAttempts: 4 },
      16,
    );

    expect(world.maxInFlight()).toBeGreaterThan(PROVIDER_CONCURRENCY_LIMIT);
    expect(world.deliveries.filter((delivery) => delivery.outcome === "throttled").length).toBeGreaterThan(0);
  });

  it.each([NestingType.NESTED, NestingType.FLAT])(
    "respects the limit under %s nesting too",
    async (nesting) => {
      const { world, result } = await runBatch(
        { holdDeliveriesUntilInFlight: 3 },
        { ...quickConfig, maxConcurrency: 3, nesting },
        12,
      );

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(world.maxInFlight()).toBe(3);
    },
  );
});

describeLocal("failure isolation and the retry pass", () => {
  it("isolates a failed invoice, sends the others, and retries only the failed one after a cool-down", async () => {
    // INV-1003 fails both attempts of the first pass (an outage longer than the step retries), then recovers.
    // Ten invoices: one failure is 10% of the batch, just within the default policy (at most 10%).
    const { world, runner, result, names } = await runBatch(
      { deliveryFailures: { "INV-1003": 2 } },
      quickConfig,
      10,
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome.firstPass).toEqual({
      status: "FAILED",
      completionReason: "ALL_COMPLETED",
      invoices: 10,
      succeeded: 9,
      failed: 1,
      inFlight: 0,
      notStarted: 0,
    });
    expect(outcome.retryPass).toEqual({
      status: "SUCCEEDED",
      completionReason: "ALL_COMPLETED",
      invoices: 1,
      succeeded: 1,
      failed: 0,
      inFlight: 0,
      notStarted: 0,
    });
    expect(outcome.outcome).toBe("ALL_SENT");
    expect(outcome.sent.map((sent) => sent.invoiceId)).toEqual(ids(1001, 1010));

    // First pass: the item failed alone; its neighbours succeeded.
    const failedItem = runner.getOperation("invoice-INV-1003");
    expect(failedItem.getStatus()).toBe(OperationStatus.FAILED);
    expect(failedItem.getContextDetails()?.error?.errorMessage).toBe(unavailable("INV-1003"));
    expect(runner.getOperation("deliver-INV-1003").getStepDetails()?.attempt).toBe(2);
    for (const id of ["INV-1002", "INV-1004"]) {
      expect(runner.getOperation(`invoice-${id}`).getStatus()).toBe(OperationStatus.SUCCEEDED);
    }

    // The cool-down, then a second map over the failed invoice only.
    expect(runner.getOperation("cool-down-before-retry").getWaitDetails()?.waitSeconds).toBe(1);
    expect(names.indexOf("cool-down-before-retry")).toBeLessThan(names.indexOf("retry-failed-invoices"));
    const retry = runner.getOperation("retry-failed-invoices");
    expect(retry.getChildOperations()?.map((item) => item.getName())).toEqual(["retry-invoice-INV-1003"]);
    expect(runner.getOperation("deliver-INV-1003", 1).getStatus()).toBe(OperationStatus.SUCCEEDED);

    // The provider: two refused attempts and one accepted for INV-1003, exactly one attempt for every other.
    expect(world.attemptsFor("INV-1003")).toBe(3);
    for (const id of ids(1001, 1010).filter((id) => id !== "INV-1003")) expect(world.attemptsFor(id)).toBe(1);
    expect(world.renders.filter((id) => id === "INV-1003")).toHaveLength(2); // re-rendered to the same key
  });

  it("reports invoices that fail both passes, without failing the run", async () => {
    const { world, result } = await runBatch(
      { deliveryFailures: { "INV-1002": Infinity, "INV-1006": 2 } },
      {
        ...quickConfig,
        completionPolicy: { toleratedFailurePercentage: 25 },
      },
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome.outcome).toBe("PARTIALLY_SENT");
    expect(outcome.retryPass).toMatchObject({ invoices: 2, succeeded: 1, failed: 1, status: "FAILED" });
    expect(outcome.failed).toEqual([{ invoiceId: "INV-1002", error: unavailable("INV-1002") }]);
    expect(outcome.sent.map((sent) => sent.invoiceId)).toEqual(
      ids(1001, 1008).filter((id) => id !== "INV-1002"),
    );
    expect(world.attemptsFor("INV-1002")).toBe(4); // 2 per pass
  });

  it("halts on its failure policy and does not retry: the rest are reported unfinished", async () => {
    const { world, result, names } = await runBatch(
      { deliveryFailures: { "INV-1002": Infinity, "INV-1003": Infinity } },
      { ...quickConfig, maxConcurrency: 1, completionPolicy: { toleratedFailureCount: 1 } },
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome).toMatchObject({
      outcome: "HALTED",
      firstPass: {
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        succeeded: 1,
        failed: 2,
        inFlight: 0,
        notStarted: 5,
      },
      failed: [
        { invoiceId: "INV-1002", error: unavailable("INV-1002") },
        { invoiceId: "INV-1003", error: unavailable("INV-1003") },
      ],
      unfinished: ids(1004, 1008),
    });
    expect(names).not.toContain("retry-failed-invoices");
    expect(world.renders).toEqual(ids(1001, 1003));
  });

  it("an early stop leaves items in flight: reported in doubt (the provider accepted them), the rest unfinished", async () => {
    // Four at a time, one attempt each. INV-1001 fails as soon as all four are at the provider; INV-1002..1004
    // are held there until the run has returned, so they are still in flight when that failure (1 of 8 is over
    // 10%) stops the pass.
    const slowSends = gate();
    const { world, runner, result } = await runBatch(
      {
        deliveryFailures: { "INV-1001": Infinity },
        holdDeliveriesUntilInFlight: 4,
        holdDelivery: (invoiceId) => (invoiceId === "INV-1001" ? undefined : slowSends.opened),
      },
      { ...quickConfig, maxConcurrency: 4, deliveryAttempts: 1 },
    );

    const outcome = result.getResult()!;
    expect(outcome).toMatchObject({
      outcome: "HALTED",
      firstPass: {
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        succeeded: 0,
        failed: 1,
        inFlight: 3,
        notStarted: 4,
      },
      unfinished: ids(1005, 1008),
    });
    expect(outcome.inDoubt.map((entry) => entry.invoiceId)).toEqual(ids(1002, 1004));
    expect(outcome.inDoubt[0]!.error).toBe(
      "[in doubt] still in flight when the pass stopped early: the provider may have emailed it, even after " +
        "the run returned; send it again only with its key 2026-11-acme:INV-1002, or look it up by that key",
    );
    expect(runner.getOperation("invoice-INV-1003").getStatus()).toBe(OperationStatus.STARTED);
    expect(world.accepted()).toEqual([]);
    slowSends.open();
    // The held sends finish on the microtasks that follow: one timer later the provider's books are final.
    await new Promise((resolve) => setTimeout(resolve, 0));
    // The in-flight calls were not cancelled: the provider accepted them after the pass had stopped. Their
    // outcome is not in the checkpoint log, which is why they are reported in doubt, and why the delivery
    // carries an idempotency key: resending them with it later cannot send them twice.
    expect(world.accepted()).toEqual(ids(1002, 1004));
    // The unfinished ones were never asked of the provider: safe to send.
    expect(outcome.unfinished.filter((id) => world.attemptsFor(id) > 0)).toEqual([]);
    expect(world.renders).toEqual(ids(1001, 1004));
  });
});

describeLocal("sends in doubt", () => {
  it("a timeout after the provider sent: not repeated in the step, settled by the retry pass with the same key", async () => {
    const { world, runner, result } = await runBatch(
      { deliveryFaults: { "INV-1003": ["timeout-after-send"] } },
      { ...quickConfig, completionPolicy: { toleratedFailurePercentage: 20 } },
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome).toMatchObject({ outcome: "ALL_SENT", failed: [], inDoubt: [] });
    // One attempt in the first pass (in doubt: not retried at once), one in the retry pass with the same key.
    expect(runner.getOperation("deliver-INV-1003").getStepDetails()?.attempt).toBe(1);
    expect(runner.getOperation("invoice-INV-1003").getContextDetails()?.error?.errorMessage).toMatch(
      /^\[in doubt\] POST invoices for INV-1003 timed out/,
    );
    expect(world.deliveries.filter((d) => d.invoiceId === "INV-1003")).toEqual([
      { invoiceId: "INV-1003", idempotencyKey: "2026-11-acme:INV-1003", outcome: "sent-answer-lost" },
      { invoiceId: "INV-1003", idempotencyKey: "2026-11-acme:INV-1003", outcome: "repeated-key" },
    ]);
    // The provider's own record: one email, not two.
    expect(world.emails.filter((email) => email.invoiceId === "INV-1003")).toHaveLength(1);
    expect(outcome.sent.find((sent) => sent.invoiceId === "INV-1003")?.messageId).toBe("msg-INV-1003");
  });

  it("still in doubt after both passes: reported in doubt, not as failed, and sent once", async () => {
    const { world, result } = await runBatch(
      { deliveryFaults: { "INV-1003": ["timeout-after-send", "error-502-after-send"] } },
      { ...quickConfig, completionPolicy: { toleratedFailurePercentage: 20 } },
    );

    const outcome = result.getResult()!;
    expect(outcome.outcome).toBe("PARTIALLY_SENT");
    expect(outcome.failed).toEqual([]);
    expect(outcome.inDoubt.map((entry) => entry.invoiceId)).toEqual(["INV-1003"]);
    expect(outcome.inDoubt[0]!.error).toMatch(/^\[in doubt\] invoicing provider answered 502 for INV-1003/);
    expect(world.emails.filter((email) => email.invoiceId === "INV-1003")).toHaveLength(1);
    // Its amount is not in the sent total: the report claims only what was confirmed.
    const confirmed = sampleBatch(8).invoices.filter((invoice) => invoice.invoiceId !== "INV-1003");
    expect(outcome.sentTotal.amountCents).toBe(
      confirmed.reduce((sum, invoice) => sum + invoice.amountCents, 0),
    );
  });

  it("a refusal (422) is not retried, not given a second pass, and reported not sent", async () => {
    const { world, result, names } = await runBatch(
      { deliveryFaults: { "INV-1003": ["refused-422"] } },
      { ...quickConfig, completionPolicy: { toleratedFailurePercentage: 20 } },
    );

    const outcome = result.getResult()!;
    expect(outcome.failed.map((entry) => entry.invoiceId)).toEqual(["INV-1003"]);
    expect(outcome.failed[0]!.error).toMatch(/^\[refused\] invoice INV-1003 refused \(422\)/);
    expect(names).not.toContain("retry-failed-invoices");
    expect(world.attemptsFor("INV-1003")).toBe(1);
    expect(world.emails.filter((email) => email.invoiceId === "INV-1003")).toEqual([]);
  });
});

describeLocal("a sandbox that dies between the send and its checkpoint", () => {
  // test/crash.ts drops the checkpoint of deliver-INV-1001's success and starts a fresh sandbox from what the
  // service holds. It is meant for an operation that runs alone: here a one-invoice batch, so no neighbour
  // runs beside the delivery (the enrichment parallel has finished, the FX parallel has not started).
  it("the provider emailed, the checkpoint was lost: the next sandbox sends again with the same key, one email", async () => {
    const world = simulatedWorld();
    const crash = crashAfter(createHandler(world.deps, quickConfig), "deliver-INV-1001");
    const runner = new LocalDurableTestRunner<BillingRunResult>({ handlerFunction: crash.handler });

    const result = await runner.run({ payload: sampleBatch(1) });

    expect(crash.crashes()).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ outcome: "ALL_SENT", inDoubt: [], issuedBefore: [] });
    expect(result.getResult()!.sent.map((sent) => sent.invoiceId)).toEqual(["INV-1001"]);
    // The step ran twice (its START was checkpointed, its SUCCEED lost), the provider's record shows the second
    // request answered from the first send: one email, and the render was not repeated.
    expect(world.deliveries.map((delivery) => delivery.outcome)).toEqual(["accepted", "repeated-key"]);
    expect(world.emails).toHaveLength(1);
    expect(world.renders).toEqual(["INV-1001"]);
  });
});

describeLocal("answers from deps that are not HTTP", () => {
  it("a client library's NaN, Infinity or undefined is checked like any JSON answer", async () => {
    // What JSON cannot carry, a client library can return: the same schemas catch it in the step.
    const { world, runner, result } = await runBatch(
      {
        answers: {
          atlas: (_request, quote) => ({ ...quote, rate: Number.NaN }),
          beacon: (_request, quote) => ({ ...quote, rate: Number.POSITIVE_INFINITY }),
          invoicing: (request: { invoiceId: string }, receipt) =>
            request.invoiceId === "INV-1002" ? undefined : receipt,
        },
      },
      { ...quickConfig, completionPolicy: { toleratedFailurePercentage: 20 } },
    );

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = result.getResult()!;
    expect(outcome.fx).toMatchObject({
      outcome: "NO_RATE",
      discarded: [
        {
          provider: "atlas",
          reason: "fx-atlas answered something we cannot accept: rate must be a finite number",
        },
        {
          provider: "beacon",
          reason: "fx-beacon answered something we cannot accept: rate must be a finite number",
        },
      ],
    });
    expect(outcome.reportingTotal).toBeUndefined();
    expect(runner.getOperation("fx-atlas").getStatus()).toBe(OperationStatus.FAILED);
    // INV-1002's receipt never came, every time: in doubt after both passes, emailed once.
    expect(outcome.inDoubt.map((entry) => entry.invoiceId)).toEqual(["INV-1002"]);
    expect(world.emails.filter((email) => email.invoiceId === "INV-1002")).toHaveLength(1);
    expect(world.deliveries.filter((d) => d.invoiceId === "INV-1002").map((d) => d.outcome)).toEqual([
      "accepted",
      "repeated-key",
    ]);
  });
});

describeLocal("the VAT number", () => {
  it("an invalid VAT number: nothing rendered, nothing sent, the run fails saying why", async () => {
    const { world, result, names } = await runBatch({ vatValid: false });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({ errorType: "VatNumberRejectedError" });
    expect(names).not.toContain("send-invoices");
    expect(world.renders).toEqual([]);
    expect(world.deliveries).toEqual([]);
  });
});

describeLocal("large results are stored by reference", () => {
  it("uploads each 300 KB document and checkpoints only its key and size", async () => {
    const { world, runner, result } = await runBatch({ documentBytes: 300 * 1024 }, quickConfig, 4);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const stored = world.documents.get(simulatedDocumentKey("INV-1002"));
    expect(stored?.byteLength).toBe(300 * 1024); // larger than a checkpoint may be (256 KB)

    const checkpointed: unknown = runner.getOperation("render-INV-1002").getStepDetails()?.result;
    expect(checkpointed).toEqual({ documentKey: simulatedDocumentKey("INV-1002"), bytes: 307200 });
    expect(JSON.stringify(checkpointed).length).toBeLessThan(100);

    // The item's and the map's checkpoints carry references too: 4 invoices, well under a kilobyte.
    expect(runner.getOperation("invoice-INV-1002").getContextDetails()?.result).toEqual({
      invoiceId: "INV-1002",
      documentKey: simulatedDocumentKey("INV-1002"),
      messageId: "msg-INV-1002",
    });
    expect(
      JSON.stringify(runner.getOperation("send-invoices").getContextDetails()?.result).length,
    ).toBeLessThan(1024);
    const largest = Math.max(
      ...result.getOperations().map((operation) => {
        const details =
          operation.getType() === OperationType.STEP
            ? operation.getStepDetails()
            : operation.getContextDetails();
        return JSON.stringify(details?.result ?? null).length;
      }),
    );
    expect(largest).toBeLessThan(1024);
  });
});

describeLocal("nesting", () => {
  it.each([
    // + 1: check-settings (added after the review of map-parallel: the sends' settings checked before the map).
    [NestingType.NESTED, 3 * 10 + 1 + 14 + 1],
    [NestingType.FLAT, 2 * 10 + 1 + 14 + 1],
  ])("%s: counts the operations of a 10-invoice batch", async (nesting, expected) => {
    const { runner, result, names } = await runBatch({}, { ...quickConfig, nesting }, 10);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    // 14 = enrich-customer (1 + 3 branches + 3 steps) + quote-fx-rate (1 + 3 branches + 3 steps); 1 = check-settings.
    expect(result.getOperations()).toHaveLength(expected);
    if (nesting === NestingType.FLAT) {
      // No item contexts: the steps hang directly off the map, so their names must carry the business key.
      expect(names).not.toContain("invoice-INV-1001");
      const mapId = runner.getOperation("send-invoices").getId();
      expect(runner.getOperation("render-INV-1001").getParentId()).toBe(mapId);
      expect(runner.getOperation("deliver-INV-1001").getParentId()).toBe(mapId);
    } else {
      expect(runner.getOperation("invoice-INV-1001").getChildOperations()).toHaveLength(2);
    }
    expect(result.getResult()?.sent).toHaveLength(10);
  });
});
