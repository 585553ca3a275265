import { NestingType } from "@aws/durable-execution-sdk-js";
import type { DemoScenario } from "@durable-cookbook/demo-runner/src/scenario";
import * as agentLoop from "../../../patterns/agent-loop/src/demo";
import { createHandler as createAgentHandler } from "../../../patterns/agent-loop/src/index";
import { PROVIDER_CONCURRENCY_LIMIT } from "../../../patterns/map-parallel/src/deps";
import * as mapParallel from "../../../patterns/map-parallel/src/demo";
import { createHandler as createBillingHandler } from "../../../patterns/map-parallel/src/index";
import * as saga from "../../../patterns/saga/src/demo";
import { createHandler as createSagaHandler, createPaymentHandler } from "../../../patterns/saga/src/index";
import * as steps from "../../../patterns/steps/src/demo";
import { createHandler as createOrderHandler } from "../../../patterns/steps/src/index";
import * as waitCallback from "../../../patterns/wait-callback/src/demo";
import { createHandler as createPurchaseHandler } from "../../../patterns/wait-callback/src/index";

/**
 * The executions the bench measures: each pattern's happy path (no faults injected), plus the variants
 * that teach something by comparison. Built from each pattern's own simulated world, so they measure
 * exactly the code the tests and the demo run.
 */
export interface BenchCase {
  pattern: string;
  name: string;
  scenario: () => DemoScenario;
}

export const executionCases: BenchCase[] = [
  {
    pattern: "steps",
    name: "order fulfilled",
    scenario: () => ({
      title: "steps",
      event: steps.sampleOrder,
      createHandler: () => createOrderHandler(steps.simulatedWorld().deps),
    }),
  },
  {
    pattern: "wait-callback",
    name: "approved by the manager",
    scenario: () => ({
      title: "wait-callback",
      event: waitCallback.samplePurchase,
      createHandler: () => createPurchaseHandler(waitCallback.simulatedWorld().deps, waitCallback.demoConfig),
      actors: [
        {
          role: "manager",
          operation: "ask-manager",
          replies: [{ succeed: { decision: "approve", decidedBy: "u-dana" } }],
        },
      ],
    }),
  },
  {
    pattern: "map-parallel",
    name: "12 invoices sent",
    scenario: () => ({
      title: "map-parallel",
      event: mapParallel.sampleBatch(12),
      createHandler: () =>
        createBillingHandler(
          mapParallel.simulatedWorld({ deliveryLatencyMs: 1 }).deps,
          mapParallel.quickConfig,
        ),
    }),
  },
  {
    pattern: "saga",
    name: "trip booked",
    scenario: () => sagaScenario(false),
  },
  {
    pattern: "saga",
    name: "trip booked, car breaker open (car skipped)",
    scenario: () => sagaScenario(true),
  },
  {
    pattern: "agent-loop",
    name: "refund approved",
    scenario: () => ({
      ...agentLoop.demo,
      createHandler: () => createAgentHandler(agentLoop.simulatedDeps().deps, agentLoop.demoConfig),
    }),
  },
];

function sagaScenario(breakerOpen: boolean): DemoScenario {
  const world = saga.simulatedWorld();
  // Another execution tripped the breaker a moment ago: this booking must degrade, not fail.
  if (breakerOpen)
    world.setBreaker({ state: "open", consecutiveFailures: 5, openedAt: Date.now(), version: 1 });
  return {
    title: "saga",
    event: saga.sampleTrip,
    createHandler: () => createSagaHandler(world.deps, saga.simulatedConfig()),
    durableFunctions: {
      [saga.PAYMENT_FUNCTION_ID]: () => createPaymentHandler(saga.simulatedWorld().paymentDeps),
    },
  };
}

/** The same invoice batch at a given size and nesting, as fast as the fakes allow. */
export function mapScalingCase(size: number, nesting: NestingType): DemoScenario {
  return {
    title: `map-parallel ${size} ${nesting}`,
    event: mapParallel.sampleBatch(size),
    createHandler: () =>
      createBillingHandler(mapParallel.simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 1024 }).deps, {
        ...mapParallel.quickConfig,
        maxConcurrency: PROVIDER_CONCURRENCY_LIMIT,
        nesting,
      }),
  };
}

export const MAP_SIZES = [10, 100, 1000];
/** The first pass over the batch: the map whose operations NESTED and FLAT change. */
export const MAP_OPERATION = "send-invoices";
