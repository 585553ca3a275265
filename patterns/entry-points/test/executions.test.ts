import { ListDurableExecutionsByFunctionCommand } from "@aws-sdk/client-lambda";
import { AwsExecutions, canonicalJson, parseQualifiedArn } from "../src";
import { sampleOrder } from "../src/demo";
import { ALIAS, simulatedLambda } from "./simulated-lambda";

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

  it("an identical retry, which Lambda answers with the existing execution as if new, is reported as a repeat", async () => {
    const lambda = simulatedLambda();
    const executions = new AwsExecutions(ALIAS, lambda);

    expect(await executions.start("order-A-1001", sampleOrder)).toBe("started");
    expect(await executions.start("order-A-1001", sampleOrder)).toBe("already-started");
    expect([...lambda.executions.keys()]).toEqual(["order-A-1001"]);
  });

  it("a name taken but not yet listed (a start moments ago) is never a conflict: a repeat, or an error to retry", async () => {
    const lambda = simulatedLambda();
    const lagging = {
      send: async (command: unknown) =>
        command instanceof ListDurableExecutionsByFunctionCommand
          ? { DurableExecutions: [] }
          : lambda.send(command),
    };
    const executions = new AwsExecutions(ALIAS, lagging);
    await executions.start("order-A-1001", sampleOrder);
    // Lambda itself returns the existing execution for the same payload: one execution, whatever is reported.
    await expect(executions.start("order-A-1001", sampleOrder)).resolves.not.toBe("conflict");
    await expect(executions.start("order-A-1001", { ...sampleOrder, amountCents: 1 })).rejects.toThrow(
      "is said to exist but was not found; try again",
    );
    expect(lambda.executions.size).toBe(1);
  });

  it("finds the exact name when the list filter matches by prefix: order-A-100 is not order-A-1000", async () => {
    const lambda = simulatedLambda({ nameFilter: "prefix" });
    const executions = new AwsExecutions(ALIAS, lambda);
    const a1000 = { ...sampleOrder, orderId: "A-1000" };
    const a100 = { ...sampleOrder, orderId: "A-100" };
    await executions.start("order-A-1000", a1000);
    await executions.start("order-A-100", a100);
    Object.assign(lambda.executions.get("order-A-1000")!, {
      status: "SUCCEEDED",
      result: '{"orderId":"A-1000","status":"FULFILLED"}',
    });

    expect(await executions.describe("order-A-100")).toEqual({ name: "order-A-100", status: "RUNNING" });
    expect(await executions.describe("order-A-10")).toBeUndefined();
    // A repeat of A-100 is compared with A-100's own input, not with A-1000's.
    expect(await executions.start("order-A-100", a100)).toBe("already-started");
    expect(await executions.start("order-A-100", a1000)).toBe("conflict");
  });

  it("pages through the list until the exact name is found", async () => {
    const lambda = simulatedLambda({ nameFilter: "prefix", pageSize: 2 });
    const executions = new AwsExecutions(ALIAS, lambda);
    for (const orderId of ["A-700", "A-7000", "A-7001", "A-7002"])
      await executions.start(`order-${orderId}`, { ...sampleOrder, orderId });
    for (const [name, execution] of lambda.executions)
      if (name !== "order-A-700") Object.assign(execution, { status: "SUCCEEDED", result: "{}" });

    expect(await executions.describe("order-A-700")).toEqual({ name: "order-A-700", status: "RUNNING" });
    expect(
      lambda.commands.filter((command) => command === "ListDurableExecutionsByFunctionCommand").length,
    ).toBeGreaterThan(1);
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
