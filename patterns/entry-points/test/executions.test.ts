import {
  GetDurableExecutionCommand,
  InvokeCommand,
  ListDurableExecutionsByFunctionCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from "@aws-sdk/client-lambda";
import { AwsExecutions, canonicalJson, parseQualifiedArn } from "../src";
import { sampleOrder } from "../src/demo";

const ALIAS = "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-EntryPointsHandler:live";

/**
 * A Lambda service that keeps its own records: the executions started (by name, with their input), and the
 * callbacks completed. It answers as the durable execution API does for the calls AwsExecutions makes.
 */
function simulatedLambda() {
  const executions = new Map<string, { arn: string; input: string; status: string; result?: string }>();
  const callbacks = new Map<string, "open" | "completed" | "timed-out">();
  const completed: Array<{ callbackId: string; result: string }> = [];
  const commands: string[] = [];
  const fail = (name: string) => Object.assign(new Error(`${name} (mentions nothing secret)`), { name });
  const send = async (command: unknown): Promise<unknown> => {
    commands.push((command as object).constructor.name);
    if (command instanceof InvokeCommand) {
      const { DurableExecutionName: name, Payload, InvocationType, FunctionName } = command.input;
      if (InvocationType !== "Event" || FunctionName !== ALIAS) throw fail("InvalidParameterValueException");
      const input = Payload as string;
      const existing = executions.get(name!);
      if (existing && existing.input !== input) throw fail("DurableExecutionAlreadyStartedException");
      if (!existing)
        executions.set(name!, { arn: `${ALIAS}/durable-execution/${name}/1`, input, status: "RUNNING" });
      return { StatusCode: 202, DurableExecutionArn: executions.get(name!)!.arn };
    }
    if (command instanceof ListDurableExecutionsByFunctionCommand) {
      const { FunctionName, Qualifier, DurableExecutionName } = command.input;
      // Names are unique per function: looked up across its versions, never narrowed to one qualifier.
      if (FunctionName !== "DurableCookbook-dev-EntryPointsHandler" || Qualifier !== undefined)
        throw fail("ResourceNotFoundException");
      const found = executions.get(DurableExecutionName!);
      return {
        DurableExecutions: found
          ? [{ DurableExecutionArn: found.arn, DurableExecutionName, Status: found.status }]
          : [],
      };
    }
    if (command instanceof GetDurableExecutionCommand) {
      const found = [...executions.values()].find(
        (execution) => execution.arn === command.input.DurableExecutionArn,
      );
      if (!found) throw fail("ResourceNotFoundException");
      return {
        DurableExecutionArn: found.arn,
        Status: found.status,
        ...(command.input.IncludeExecutionData ? { InputPayload: found.input, Result: found.result } : {}),
      };
    }
    if (command instanceof SendDurableExecutionCallbackSuccessCommand) {
      const { CallbackId, Result } = command.input;
      const state = callbacks.get(CallbackId!);
      if (state === undefined) throw fail("ResourceNotFoundException");
      if (state === "timed-out") throw fail("CallbackTimeoutException");
      if (state === "completed") throw fail("InvalidParameterValueException");
      callbacks.set(CallbackId!, "completed");
      completed.push({ callbackId: CallbackId!, result: Buffer.from(Result as Uint8Array).toString() });
      return {};
    }
    throw new Error(`unexpected command ${commands.at(-1)}`);
  };
  return { send, executions, callbacks, completed, commands };
}

describe("AwsExecutions on the Lambda durable execution API", () => {
  it("starts asynchronously (Event) on the qualified alias, named; a repeat is found, another body conflicts", async () => {
    const lambda = simulatedLambda();
    const executions = new AwsExecutions(ALIAS, lambda);

    expect(await executions.start("order-A-1001", sampleOrder)).toBe("started");
    const reordered = Object.fromEntries(Object.entries(sampleOrder).reverse());
    expect(await executions.start("order-A-1001", reordered)).toBe("already-started");
    expect(await executions.start("order-A-1001", { ...sampleOrder, amountCents: 1 })).toBe("conflict");
    // Lambda's own record: one execution, with the first body.
    expect([...lambda.executions.keys()]).toEqual(["order-A-1001"]);
    expect(JSON.parse(lambda.executions.get("order-A-1001")!.input)).toEqual(sampleOrder);
  });

  it("describes by name, without handing out the ARN; unknown names are undefined", async () => {
    const lambda = simulatedLambda();
    const executions = new AwsExecutions(ALIAS, lambda);
    await executions.start("order-A-1001", sampleOrder);
    Object.assign(lambda.executions.get("order-A-1001")!, {
      status: "SUCCEEDED",
      result: '{"status":"FULFILLED"}',
    });

    expect(await executions.describe("order-A-1001")).toEqual({
      name: "order-A-1001",
      status: "SUCCEEDED",
      result: { status: "FULFILLED" },
    });
    expect(await executions.describe("order-A-404")).toBeUndefined();
  });

  it("completes a callback once; a repeat or a timed-out one is already closed; an unknown one not found", async () => {
    const lambda = simulatedLambda();
    lambda.callbacks.set("cb-open", "open");
    lambda.callbacks.set("cb-late", "timed-out");
    const executions = new AwsExecutions(ALIAS, lambda);

    expect(await executions.completeCallback("cb-open", '{"id":"evt_1"}')).toBe("completed");
    expect(await executions.completeCallback("cb-open", '{"id":"evt_1"}')).toBe("already-closed");
    expect(await executions.completeCallback("cb-late", "{}")).toBe("already-closed");
    expect(await executions.completeCallback("cb-nope", "{}")).toBe("not-found");
    expect(lambda.completed).toEqual([{ callbackId: "cb-open", result: '{"id":"evt_1"}' }]);
  });

  it("an unexpected error names the failure, never the callback id", async () => {
    const executions = new AwsExecutions(ALIAS, {
      send: async () => {
        throw Object.assign(new Error("Something about cb-secret-123"), { name: "ServiceException" });
      },
    });
    await expect(executions.completeCallback("cb-secret-123", "{}")).rejects.toThrow(
      /^SendDurableExecutionCallbackSuccess failed: ServiceException$/,
    );
  });

  it.each([
    "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-EntryPointsHandler",
    "DurableCookbook-dev-EntryPointsHandler",
    "",
  ])("refuses an unqualified function %p: durable executions start only on a version or alias", (arn) => {
    expect(() => new AwsExecutions(arn, simulatedLambda())).toThrow("is not a qualified Lambda function ARN");
  });

  it("parses the function name and qualifier of a version or alias ARN", () => {
    expect(parseQualifiedArn(ALIAS)).toEqual({
      functionName: "DurableCookbook-dev-EntryPointsHandler",
      qualifier: "live",
    });
    expect(parseQualifiedArn(ALIAS.replace(":live", ":7")).qualifier).toBe("7");
  });

  it("canonicalJson ignores key order, not values", () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(
      canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }),
    );
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });
});
