import {
  GetDurableExecutionCommand,
  InvokeCommand,
  ListDurableExecutionsByFunctionCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from "@aws-sdk/client-lambda";

export const ALIAS =
  "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-EntryPointsHandler:live";
const FUNCTION_NAME = "DurableCookbook-dev-EntryPointsHandler";

/**
 * A Lambda service that keeps its own records: the executions started (by name, with their input), and the
 * callbacks completed. It answers as the durable execution API does for the calls AwsExecutions makes,
 * including the documented one that is easy to miss: a start with a taken name and the same payload returns
 * the existing execution, as a new start would. The list's name filter is not documented as exact, and it
 * pages: `nameFilter: "prefix"` and `pageSize` simulate the least helpful reading of both.
 */
export function simulatedLambda(options: { nameFilter?: "exact" | "prefix"; pageSize?: number } = {}) {
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
        executions.set(name!, {
          arn: `${ALIAS}/durable-execution/${name}/${executions.size + 1}`,
          input,
          status: "RUNNING",
        });
      return { StatusCode: 202, DurableExecutionArn: executions.get(name!)!.arn };
    }
    if (command instanceof ListDurableExecutionsByFunctionCommand) {
      const { FunctionName, Qualifier, DurableExecutionName: filter, Marker, MaxItems } = command.input;
      // Names are unique per function: looked up across its versions, never narrowed to one qualifier.
      if (FunctionName !== FUNCTION_NAME || Qualifier !== undefined) throw fail("ResourceNotFoundException");
      const matching = [...executions.entries()]
        .filter(([name]) =>
          filter === undefined
            ? true
            : options.nameFilter === "prefix"
              ? name.startsWith(filter)
              : name === filter,
        )
        // Longest names first, so that a prefix match puts another order ahead of the one asked for.
        .sort(([a], [b]) => b.length - a.length || b.localeCompare(a));
      const size = Math.min(options.pageSize ?? 100, MaxItems ?? 100);
      const start = Marker ? Number(Marker) : 0;
      return {
        DurableExecutions: matching.slice(start, start + size).map(([name, execution]) => ({
          DurableExecutionArn: execution.arn,
          DurableExecutionName: name,
          Status: execution.status,
        })),
        ...(start + size < matching.length ? { NextMarker: String(start + size) } : {}),
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
