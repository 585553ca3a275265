/**
 * Least privilege that matches the tools: runs the code paths of `pnpm demo <pattern> --cloud`, `pnpm run doctor`
 * (every mode, and the AWS CLI commands it prints to complete a callback) and `pnpm test:cloud` (each pattern's
 * test/target.ts, CloudDurableTestRunner, and the preflight) with the AWS SDK clients intercepted by
 * aws-sdk-client-mock, collects every command they send as its IAM action (`XyzCommand` -> `lambda:Xyz`) with the
 * resources it addresses, and authorizes each against the synthesized policy infra/README.md tells the user to
 * attach: CloudTestPolicy for the tools, the pattern's ApproverPolicy for an approver.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  GetDurableExecutionCommand,
  GetDurableExecutionHistoryCommand,
  InvokeCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { main as demo } from "../../tools/demo/src/cli";
import { doctor } from "../../tools/demo/src/doctor/cli";
import { APPROVER_POLICY_OUTPUTS, TOOL_ACTIONS } from "../../tools/demo/src/policies";
import { runLocally } from "../../tools/demo/src/run-local";
import { loadScenario } from "../../tools/demo/src/scenario";
import { REPO_ROOT } from "../lib/discover";
import { functionKey, pascalCase, PATTERNS } from "../lib/patterns";
import { preflight, realSts } from "../scripts/preflight";
import { synthFixture } from "./helpers";
import {
  allows,
  DeployedStack,
  firstStop,
  SimulatedLambda,
  type Policy,
  type Request,
} from "./tool-actions/cloud";

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-require-imports
   -- the template is untyped JSON, the mock hands its fakes untyped input, and each pattern's test/target.ts is
   loaded from its own folder at run time */

jest.setTimeout(240_000);

const { stack, template, logicalId } = synthFixture();
const deployed = new DeployedStack(template.toJSON().Resources);
const outputs = Object.fromEntries(
  Object.entries(template.toJSON().Outputs as Record<string, { Value: unknown }>).map(([key, output]) => [
    key,
    deployed.resolve(output.Value),
  ]),
);
const outputsFile = path.join(mkdtempSync(path.join(tmpdir(), "cookbook-outputs-")), "cdk-outputs.json");
writeFileSync(outputsFile, JSON.stringify({ "DurableCookbook-dev": outputs }));

const cloudTestPolicy = deployed.policy(logicalId(stack.cloudTestPolicy!));
const approverPolicies = new Map(
  [...stack.approverPolicies].map(([pattern, policy]) => [pattern, deployed.policy(logicalId(policy))]),
);

const mainHandlers = PATTERNS.map((pattern) => {
  const key = functionKey(pattern.name, "handler");
  return {
    pattern: pattern.name,
    key,
    aliasArn: outputs[`${key}AliasArn`]!,
    functionName: logicalId(stack.functions.get(key)!.function),
    acceptsCallbacks:
      pattern.functions.find((fn) => fn.handlerExport === "handler")!.acceptsCallbacks ?? false,
  };
});

/** The stack outputs the patterns' tests start in the cloud (`cloudOutput: "..."`), and whether they answer callbacks. */
function cloudTests(pattern: string): Array<{ output: string; callbacks: boolean }> {
  const dir = path.join(REPO_ROOT, "patterns", pattern, "test");
  const found = new Map<string, boolean>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts") && name !== "target.test.ts")) {
    const source = readFileSync(path.join(dir, file), "utf8");
    for (const call of source.matchAll(/createRunner(?:<[^>]*>)?\(\{([^}]*)\}/g)) {
      const output = /cloudOutput:\s*"(\w+)"/.exec(call[1]!)?.[1];
      // `callbacks` (an Event invocation) is how a cloud test gets to answer callbacks (see target.ts).
      if (output) found.set(output, (found.get(output) ?? false) || /\bcallbacks\b/.test(call[1]!));
    }
  }
  return [...found].map(([output, callbacks]) => ({ output, callbacks }));
}

const histories = new Map<string, Event[]>();
/** How each function's recorded execution ended (saga's demo ends FAILED, compensated: its story). */
const endings = new Map<string, string>();
const lambda = new SimulatedLambda(histories);
const lambdaMock = mockClient(LambdaClient);
const stsMock = mockClient(STSClient);
const hints: Request[] = [];
const demoExecutions = new Map<string, { arn: string; name: string }>();
const seeded = new Map<string, { arn: string; events: Event[] }>();

beforeAll(async () => {
  process.env.AWS_REGION = "us-east-1";
  // Each function's executions do what its pattern's demo does: a real history, recorded from a local run.
  for (const handler of mainHandlers) {
    const scenario = await loadScenario(handler.pattern);
    const { history, summary } = await runLocally(scenario, scenario.event, () => undefined);
    histories.set(handler.aliasArn, history);
    endings.set(handler.aliasArn, summary.status);
    // And one execution already in flight on each (waiting on its first callback where it has one).
    const execution = lambda.seedRunning(handler.aliasArn, history, firstStop(history), "in-flight");
    seeded.set(handler.pattern, { arn: execution.arn, events: history.slice(0, firstStop(history)) });
  }
  lambdaMock.on(InvokeCommand).callsFake((input) => lambda.invoke(input));
  lambdaMock.on(GetDurableExecutionHistoryCommand).callsFake((input) => lambda.getHistory(input));
  lambdaMock.on(ListDurableExecutionsByFunctionCommand).callsFake((input) => lambda.list(input));
  lambdaMock
    .on(SendDurableExecutionCallbackSuccessCommand)
    .callsFake((input) => lambda.callback("Success", input));
  lambdaMock
    .on(SendDurableExecutionCallbackFailureCommand)
    .callsFake((input) => lambda.callback("Failure", input));
  lambdaMock
    .on(SendDurableExecutionCallbackHeartbeatCommand)
    .callsFake((input) => lambda.callback("Heartbeat", input));
  lambdaMock.on(GetDurableExecutionCommand).rejects(new Error("GetDurableExecution is not simulated"));
  stsMock.on(GetCallerIdentityCommand).resolves({
    Account: "111111111111",
    Arn: "arn:aws:sts::111111111111:assumed-role/cookbook-ci/tools",
  });
}, 240_000);

afterAll(() => {
  lambdaMock.restore();
  stsMock.restore();
});

const lines: string[] = [];
const io = () => ({ out: (line: string) => lines.push(line), now: () => new Date(), cwd: REPO_ROOT });

describe("pnpm demo <pattern> --cloud", () => {
  it.each(mainHandlers)(
    "$pattern: starts the alias from cdk-outputs.json, plays its actors, prints the end",
    async (handler) => {
      lambda.tool = `demo ${handler.pattern}`;
      lambda.identity = [cloudTestPolicy];
      const out: string[] = [];
      const code = await demo([handler.pattern, "--cloud"], (line) => out.push(line), {
        outputsFile,
        pollMs: 0,
        sleep: () => Promise.resolve(),
      });
      expect(out.join("\n")).toContain(
        `Starting ${handler.aliasArn} as durable execution demo-${handler.pattern}-`,
      );
      // 0 when the execution succeeded, 1 when it failed (as it did locally).
      expect(code).toBe(endings.get(handler.aliasArn) === "SUCCEEDED" ? 0 : 1);
      const started = lambda.executions.filter((e) => e.name.startsWith(`demo-${handler.pattern}-`));
      expect(started).toHaveLength(1);
      expect(out).toContain(`Execution: ${started[0]!.arn}`);
      demoExecutions.set(handler.pattern, { arn: started[0]!.arn, name: started[0]!.name });
    },
  );

  it("the actors answered their callbacks with real SendDurableExecutionCallback* calls", () => {
    const answered = new Set(
      lambda.requests
        .filter(
          (r) => r.tool.startsWith("demo ") && r.action.startsWith("lambda:SendDurableExecutionCallback"),
        )
        .map((r) => r.tool),
    );
    expect([...answered].sort()).toEqual(["demo agent-loop", "demo wait-callback"]);
  });
});

describe("pnpm run doctor", () => {
  it.each(mainHandlers)("$pattern: every mode reaches AWS (exit code is never 1)", async (handler) => {
    lambda.identity = [cloudTestPolicy];
    const execution = demoExecutions.get(handler.pattern)!;
    const inFlight = seeded.get(handler.pattern)!;
    const runs: Array<[string, string[]]> = [
      ["--execution <arn>", ["--execution", execution.arn]],
      [
        "--function <alias ARN> --execution <name>",
        ["--function", handler.aliasArn, "--execution", execution.name],
      ],
      [
        "--function <name:alias> --execution <name>",
        ["--function", `${handler.functionName}:live`, "--execution", execution.name],
      ],
      ["--replay --function", ["--replay", "--function", handler.aliasArn, "--pattern", handler.pattern]],
      ["--replay --execution", ["--replay", "--execution", inFlight.arn, "--pattern", handler.pattern]],
      ["--execution <in flight>", ["--execution", inFlight.arn]],
    ];
    for (const [mode, argv] of runs) {
      lambda.tool = `doctor ${mode} (${handler.pattern})`;
      lines.length = 0;
      const code = await doctor(argv, io());
      // On failure, what the doctor said.
      expect({ mode, out: code === 1 ? lines.join("\n") : "" }).toEqual({ mode, out: "" });
      expect(code).not.toBe(1);
    }
    // The replay of every execution still running found the one in flight.
    expect(
      lambda.requests.some(
        (r) =>
          r.tool === `doctor --replay --function (${handler.pattern})` && r.resources.includes(inFlight.arn),
      ),
    ).toBe(true);
  });

  it.each(mainHandlers.filter((handler) => handler.acceptsCallbacks))(
    "$pattern: the AWS CLI commands it prints to complete the waiting callback",
    async (handler) => {
      lambda.identity = [cloudTestPolicy];
      lines.length = 0;
      expect(await doctor(["--execution", seeded.get(handler.pattern)!.arn], io())).toBe(0);
      const commands = lines
        .map((line) =>
          /aws lambda (send-durable-execution-callback-[a-z]+) .*--callback-id '([^']+)'/.exec(line),
        )
        .filter((match): match is RegExpExecArray => match !== null);
      expect(commands.map((match) => match[1])).toEqual(
        // ...-heartbeat too where the callback has a heartbeat timeout (wait-callback's manager approval).
        expect.arrayContaining([
          "send-durable-execution-callback-success",
          "send-durable-execution-callback-failure",
        ]),
      );
      for (const [, command, callbackId] of commands) {
        const action = `lambda:${pascalCase(command!)}`;
        const resource = lambda.executionOfCallback(callbackId).arn;
        for (const [who, policies] of [
          ["doctor hint (AWS CLI)", [cloudTestPolicy]],
          [`approver of ${handler.pattern} (AWS CLI)`, [approverPolicies.get(handler.pattern)!]],
        ] as const) {
          hints.push({
            tool: who,
            action,
            resources: [resource],
            allowed: allows([...policies], action, resource),
          });
        }
        // One approver policy per pattern: the other pattern's approver cannot answer it.
        for (const [other, policy] of approverPolicies) {
          if (other !== handler.pattern) expect(allows([policy], action, resource)).toBe(false);
        }
      }
    },
  );
});

describe("pnpm test:cloud", () => {
  it("the preflight: sts:GetCallerIdentity, which needs no permission", async () => {
    const result = await preflight(realSts());
    expect(result).toMatchObject({ ok: true, identity: { account: "111111111111", region: "us-east-1" } });
    expect(stsMock.calls().map((call) => call.args[0].constructor.name)).toEqual([
      "GetCallerIdentityCommand",
    ]);
  });

  const runners = PATTERNS.flatMap((pattern) =>
    cloudTests(pattern.name).map((test) => ({ pattern: pattern.name, ...test })),
  );

  it("finds the functions the patterns' cloud tests start", () => {
    expect(
      runners
        .map((runner) => `${runner.pattern} ${runner.output}${runner.callbacks ? " (callbacks)" : ""}`)
        .sort(),
    ).toEqual(
      [
        "agent-loop AgentLoopHandlerAliasArn",
        "entry-points EntryPointsHandlerAliasArn",
        "map-parallel MapParallelHandlerAliasArn",
        "saga SagaHandlerAliasArn",
        "steps StepsHandlerAliasArn",
        "wait-callback WaitCallbackHandlerAliasArn (callbacks)",
      ].sort(),
    );
  });

  it.each(runners)(
    "$pattern $output: CloudDurableTestRunner through the pattern's test/target.ts",
    async (test) => {
      const dir = path.join(REPO_ROOT, "patterns", test.pattern, "test");
      const target = require(path.join(dir, "target.ts"));
      const testing = require(require.resolve("@aws/durable-execution-sdk-js-testing", { paths: [dir] }));
      lambda.tool = `test:cloud ${test.pattern} ${test.output}`;
      lambda.identity = [cloudTestPolicy];
      process.env.DURABLE_TEST_OUTPUTS = outputsFile;
      const neverLocal = () => Promise.reject(new Error("the cloud runner never runs the handler here"));
      const runner = target.createRunner(
        { handler: neverLocal, cloudOutput: test.output, callbacks: test.callbacks },
        "cloud",
      );
      const events = histories.get(outputs[test.output]!);
      if (!events) {
        // Not a function the tests may start: the policy refuses it, and the runner says so.
        await expect(runner.run({ payload: {} })).rejects.toThrow(
          /not authorized to perform: lambda:InvokeFunction/,
        );
        return;
      }
      const waitFor = events.find((event) => event.EventType === "CallbackStarted");
      const names = new Map(events.map((event) => [event.Id, event.Name]));
      const operation =
        test.callbacks && waitFor
          ? runner.getOperation(waitFor.Name ?? names.get(waitFor.ParentId))
          : undefined;
      const run = runner.run({ payload: {} });
      if (operation) {
        await operation.waitForData(testing.WaitingOperationStatus.STARTED);
        await operation.sendCallbackHeartbeat();
        await operation.sendCallbackFailure({ ErrorType: "Rejected", ErrorMessage: "no" });
        await operation.sendCallbackSuccess("{}");
      }
      const result = await run;
      expect(result.getStatus()).toBe(endings.get(outputs[test.output]!));
    },
  );
});

/** An API operation's IAM action where the two differ (the Invoke operation is authorized as lambda:InvokeFunction). */
const ACTION_OF_OPERATION: Record<string, string> = { Invoke: "InvokeFunction" };

/** Every IAM action the tools' clients sent, from the mock's own record of the commands: XyzCommand -> lambda:Xyz. */
function sentActions(): string[] {
  return [
    ...new Set(
      lambdaMock.calls().map((call) => {
        const operation = call.args[0].constructor.name.replace(/Command$/, "");
        return `lambda:${ACTION_OF_OPERATION[operation] ?? operation}`;
      }),
    ),
  ].sort();
}

describe("what the tools send, against the policies", () => {
  it("every request of the demo, the doctor and the cloud tests is allowed by CloudTestPolicy", () => {
    expect(lambda.requests.length).toBeGreaterThan(100);
    const denied = lambda.requests.filter((request) => !request.allowed);
    // No cloud test starts saga's payment function: only the saga does (context.invoke), so the policy does not
    // allow it (patterns/saga/test/payment.test.ts's direct start is local-only).
    expect(
      denied.map((request) => `${request.tool}: ${request.action} ${request.resources.join(" ")}`),
    ).toEqual([]);
  });

  it("the commands the clients sent are exactly the ones the simulated Lambda authorized", () => {
    expect(sentActions()).toEqual([...new Set(lambda.requests.map((request) => request.action))].sort());
    expect(sentActions()).toEqual([
      "lambda:GetDurableExecutionHistory",
      "lambda:InvokeFunction",
      "lambda:ListDurableExecutionsByFunction",
      "lambda:SendDurableExecutionCallbackFailure",
      "lambda:SendDurableExecutionCallbackHeartbeat",
      "lambda:SendDurableExecutionCallbackSuccess",
    ]);
  });

  it("the doctor's printed commands are allowed by CloudTestPolicy and by the pattern's own approver policy", () => {
    // Two patterns, at least success and failure each, checked against two policies; heartbeat in wait-callback.
    expect(hints.length).toBeGreaterThanOrEqual(2 * 2 * 2 + 2);
    expect(hints.map((hint) => hint.action)).toContain("lambda:SendDurableExecutionCallbackHeartbeat");
    expect(hints.filter((hint) => !hint.allowed)).toEqual([]);
  });

  it("CloudTestPolicy has no action that no tool sends", () => {
    const policyActions = [
      ...new Set(cloudTestPolicy.statements.flatMap((statement) => statement.actions)),
    ].sort();
    expect(policyActions).toEqual(sentActions());
  });

  it("callbacks: only on the executions of the functions that wait for them", () => {
    const waiting = mainHandlers.filter((handler) => handler.acceptsCallbacks);
    const answer = cloudTestPolicy.statements.filter((statement) =>
      statement.actions.some((action) => action.startsWith("lambda:SendDurableExecutionCallback")),
    );
    expect(answer.flatMap((statement) => statement.resources).sort()).toEqual(
      waiting.map((handler) => `${deployed.functionArn(handler.functionName)}:*`).sort(),
    );
    for (const handler of mainHandlers.filter((h) => !h.acceptsCallbacks)) {
      const arn = `${deployed.functionArn(handler.functionName)}:1/durable-execution/x/y`;
      expect(allows([cloudTestPolicy], "lambda:SendDurableExecutionCallbackSuccess", arn)).toBe(false);
    }
  });

  it("the doctor's table of which policy grants what (tools/demo/src/policies.ts) is the synthesized truth", () => {
    expect(Object.keys(TOOL_ACTIONS).sort()).toEqual(sentActions());
    const byOutput: Record<string, Policy> = {
      CloudTestPolicyArn: cloudTestPolicy,
      ...Object.fromEntries(
        [...approverPolicies].map(([pattern, policy]) => [`${pascalCase(pattern)}ApproverPolicyArn`, policy]),
      ),
    };
    expect([...APPROVER_POLICY_OUTPUTS].sort()).toEqual(
      Object.keys(outputs)
        .filter((key) => key.endsWith("ApproverPolicyArn"))
        .sort(),
    );
    for (const [action, grant] of Object.entries(TOOL_ACTIONS)) {
      expect(outputs[grant.output]).toBeDefined();
      expect(byOutput[grant.output]!.statements.some((statement) => statement.actions.includes(action))).toBe(
        true,
      );
    }
  });

  it("the doctor's access-denied message names the policy that grants the missing action", async () => {
    lambda.identity = [approverPolicies.get("wait-callback")!];
    lambda.tool = "doctor without CloudTestPolicy";
    const handler = mainHandlers.find((h) => h.pattern === "wait-callback")!;
    lines.length = 0;
    expect(
      await doctor(
        ["--function", handler.aliasArn, "--execution", demoExecutions.get("wait-callback")!.name],
        io(),
      ),
    ).toBe(1);
    expect(lines.join("\n")).toMatch(
      /^Access denied: User: .* is not authorized to perform: lambda:ListDurableExecutionsByFunction on resource: .* action\. lambda:ListDurableExecutionsByFunction is in the stack's CloudTestPolicy \(output CloudTestPolicyArn\), on every function of the stack: attach it to your identity\.$/,
    );
    lines.length = 0;
    expect(await doctor(["--execution", demoExecutions.get("wait-callback")!.arn], io())).toBe(1);
    expect(lines.join("\n")).toContain(
      "lambda:GetDurableExecutionHistory is in the stack's CloudTestPolicy (output CloudTestPolicyArn)",
    );
  });
});
