import {
  CompletionOutcome,
  completeBatch,
  continueBatch,
  DurableOperationError,
  OperationSubType,
  withDurableExecution,
  type CompletionConfig,
} from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import {
  defaultConfig,
  haltIfCanariesFail,
  isHalted,
  sendInvoices,
  SEND_STATUS_RULES,
  sendingCap,
  type CustomerProfile,
  type WorkflowConfig,
} from "../src";
import { sampleBatch, simulatedWorld } from "../src/demo";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the tests run the first pass alone, in a handler of their own, against failures
// set in the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const customer: CustomerProfile = {
  customerId: "acme",
  legalName: "Acme Ltd",
  billingEmail: "billing@acme.example.com",
  country: "GB",
  balanceCents: 0,
  overdueInvoices: 0,
  vatNumber: "GB123456789",
  paymentTermsDays: 30,
};

// One invoice at a time and a single delivery attempt: which invoices run is then fully determined by the
// policy (with more in flight, an early completion can find a few extra items already started).
const oneAtATime: WorkflowConfig = { ...defaultConfig, maxConcurrency: 1, deliveryAttempts: 1 };

interface PassOutcome {
  status: string;
  completionReason: string;
  successCount: number;
  failureCount: number;
  startedCount: number;
  halted: boolean;
  throwIfError: string;
}

/** Runs only the first pass (the map), ten invoices INV-1001..INV-1010, and reports the BatchResult. */
async function runPass(policy: CompletionConfig | undefined, failing: number[]) {
  const batch = sampleBatch(10);
  const world = simulatedWorld({
    deliveryFailures: Object.fromEntries(failing.map((n) => [`INV-${1000 + n}`, Infinity])),
    documentBytes: 64,
  });
  const handler = withDurableExecution(async (_event: unknown, context): Promise<PassOutcome> => {
    const run = { batch, customer, deps: world.deps, config: { ...oneAtATime, completionPolicy: policy } };
    const pass = await sendInvoices(context, "send-invoices", "invoice", batch.invoices, run);
    let thrown = "nothing";
    try {
      pass.throwIfError();
    } catch (error) {
      thrown = `${(error as DurableOperationError).errorType}: ${(error as Error).message}`;
    }
    return {
      status: pass.status,
      completionReason: pass.completionReason,
      successCount: pass.successCount,
      failureCount: pass.failureCount,
      startedCount: pass.startedCount,
      halted: isHalted(pass),
      throwIfError: thrown,
    };
  });
  const runner = new LocalDurableTestRunner<PassOutcome>({ handlerFunction: handler });
  const result = await runner.run({ payload: {} });
  expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
  return { outcome: result.getResult()!, world, runner };
}

const ran = (...numbers: number[]) => numbers.map((n) => `INV-${1000 + n}`);
const range = (from: number, to: number) => ran(...Array.from({ length: to - from + 1 }, (_, i) => from + i));
const unavailable = (n: number) =>
  `ChildContextError: [not sent] invoicing provider unavailable for INV-${1000 + n} (503) (${SEND_STATUS_RULES[503]!.reason})`;

describeLocal("completion policies: ten invoices, one at a time", () => {
  it.each<{
    policy: string;
    config: CompletionConfig | undefined;
    failing: number[];
    expected: Omit<PassOutcome, "startedCount">;
    ran: string[];
  }>([
    {
      policy: "none (the default): fail fast",
      config: undefined,
      failing: [3],
      expected: {
        status: "FAILED",
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        successCount: 2,
        failureCount: 1,
        halted: true,
        throwIfError: unavailable(3),
      },
      ran: range(1, 3),
    },
    {
      policy: "toleratedFailurePercentage 10, no failure",
      config: { toleratedFailurePercentage: 10 },
      failing: [],
      expected: {
        status: "SUCCEEDED",
        completionReason: "ALL_COMPLETED",
        successCount: 10,
        failureCount: 0,
        halted: false,
        throwIfError: "nothing",
      },
      ran: range(1, 10),
    },
    {
      policy: "toleratedFailurePercentage 10, 1 of 10 fails (10%, within)",
      config: { toleratedFailurePercentage: 10 },
      failing: [3],
      expected: {
        status: "FAILED",
        completionReason: "ALL_COMPLETED",
        successCount: 9,
        failureCount: 1,
        halted: false,
        throwIfError: unavailable(3),
      },
      ran: range(1, 10),
    },
    {
      policy: "toleratedFailurePercentage 10, 2 of 10 fail (20%, exceeded at the second)",
      config: { toleratedFailurePercentage: 10 },
      failing: [3, 7],
      expected: {
        status: "FAILED",
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        successCount: 5,
        failureCount: 2,
        halted: true,
        throwIfError: unavailable(3),
      },
      ran: range(1, 7),
    },
    {
      policy: "toleratedFailureCount 1, one failure",
      config: { toleratedFailureCount: 1 },
      failing: [3],
      expected: {
        status: "FAILED",
        completionReason: "ALL_COMPLETED",
        successCount: 9,
        failureCount: 1,
        halted: false,
        throwIfError: unavailable(3),
      },
      ran: range(1, 10),
    },
    {
      policy: "toleratedFailureCount 1, two failures",
      config: { toleratedFailureCount: 1 },
      failing: [2, 4],
      expected: {
        status: "FAILED",
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        successCount: 2,
        failureCount: 2,
        halted: true,
        throwIfError: unavailable(2),
      },
      ran: range(1, 4),
    },
    {
      policy: "minSuccessful 4, no failure: first 4 of 10",
      config: { minSuccessful: 4 },
      failing: [],
      expected: {
        status: "SUCCEEDED",
        completionReason: "MIN_SUCCESSFUL_REACHED",
        successCount: 4,
        failureCount: 0,
        halted: false,
        throwIfError: "nothing",
      },
      ran: range(1, 4),
    },
    {
      policy: "minSuccessful 4 alone tolerates failures: it runs on to the 4th success",
      config: { minSuccessful: 4 },
      failing: [2],
      expected: {
        status: "FAILED",
        completionReason: "MIN_SUCCESSFUL_REACHED",
        successCount: 4,
        failureCount: 1,
        halted: false,
        throwIfError: unavailable(2),
      },
      ran: range(1, 5),
    },
    {
      policy: "minSuccessful 4 with toleratedFailureCount 0",
      config: { minSuccessful: 4, toleratedFailureCount: 0 },
      failing: [2],
      expected: {
        status: "FAILED",
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
        successCount: 1,
        failureCount: 1,
        halted: true,
        throwIfError: unavailable(2),
      },
      ran: range(1, 2),
    },
    {
      policy: "shouldComplete haltIfCanariesFail(3), the first 3 fail",
      config: haltIfCanariesFail(3),
      failing: [1, 2, 3],
      expected: {
        status: "FAILED",
        completionReason: "CUSTOM_COMPLETION_FAILED",
        successCount: 0,
        failureCount: 3,
        halted: true,
        throwIfError: unavailable(1),
      },
      ran: range(1, 3),
    },
    {
      policy: "shouldComplete haltIfCanariesFail(3), 2 of the first 3 fail",
      config: haltIfCanariesFail(3),
      failing: [1, 2],
      expected: {
        status: "FAILED",
        completionReason: "ALL_COMPLETED",
        successCount: 8,
        failureCount: 2,
        halted: false,
        throwIfError: unavailable(1),
      },
      ran: range(1, 10),
    },
    {
      policy: "shouldComplete sendingCap(5)",
      config: sendingCap(5),
      failing: [],
      expected: {
        status: "SUCCEEDED",
        completionReason: "CUSTOM_COMPLETION_SUCCEEDED",
        successCount: 5,
        failureCount: 0,
        halted: false,
        throwIfError: "nothing",
      },
      ran: range(1, 5),
    },
  ])("$policy", async ({ config, failing, expected, ran }) => {
    const { outcome, world, runner } = await runPass(config, failing);

    expect(outcome).toEqual({ ...expected, startedCount: 0 });
    // Which invoices ran: in the fake provider, and as item operations in the checkpoint log.
    expect(world.renders).toEqual(ran);
    expect(world.deliveries.map((delivery) => delivery.invoiceId)).toEqual(ran);
    const items = runner.getOperation("send-invoices").getChildOperations() ?? [];
    expect(items.map((item) => item.getName())).toEqual(ran.map((id) => `invoice-${id}`));
    expect(items.every((item) => item.getSubType() === OperationSubType.MAP_ITERATION)).toBe(true);
    const failedItems = items
      .filter((item) => item.getStatus() === OperationStatus.FAILED)
      .map((i) => i.getName());
    expect(failedItems).toEqual(
      failing.filter((n) => ran.includes(`INV-${1000 + n}`)).map((n) => `invoice-INV-${1000 + n}`),
    );
    // Whatever the policy says, the map operation itself completes: the verdict is in its result.
    expect(runner.getOperation("send-invoices").getStatus()).toBe(OperationStatus.SUCCEEDED);
  });

  it("a custom policy that fails the batch makes throwIfError throw BatchCompletionError even with no item failed", async () => {
    const failNow: CompletionConfig = {
      shouldComplete: ({ completedCount }) =>
        completedCount >= 2 ? completeBatch(CompletionOutcome.FAILED) : continueBatch(),
    };
    const { outcome, world } = await runPass(failNow, []);
    expect(outcome).toMatchObject({
      status: "FAILED",
      completionReason: "CUSTOM_COMPLETION_FAILED",
      successCount: 2,
      failureCount: 0,
      halted: true,
    });
    expect(world.renders).toEqual(range(1, 2));
    expect(outcome.throwIfError).toBe(
      "BatchCompletionError: Batch completed as failed by shouldComplete (CUSTOM_COMPLETION_FAILED)",
    );
  });
});
