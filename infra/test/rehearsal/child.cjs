// Runs one deployed function's bundle, exactly as synthesized, in this fresh Node process: the environment is the
// one the template gives the function (set by the parent), the handler is loaded from the asset directory the way
// Lambda loads it (`index.<export>`). Prints one JSON line: what the function did.
//
// Two modes:
// - durable (the default): the happy path runs through LocalDurableTestRunner, sibling functions registered by
//   the name the caller invokes them with. Callbacks the job names are answered as an outside system would: once
//   the callback exists (STARTED: the id is created) and, if `after` names an operation, once that operation
//   completed (the step that sends the callback id to whoever answers). The answer is the job's, or, with
//   `deliveredBy`, the bytes a front door sent Lambda's SendDurableExecutionCallbackSuccess for this callback's id
//   (the Lambda stand-in hands them over).
// - plain: a plain (not durable) handler is called with each event in turn, in this one sandbox, with a minimal
//   Lambda context; each result (or thrown error) is printed.
//
// CommonJS, as Lambda loads these bundles (esbuild's cjs output); plain JavaScript, so the parent can run it with no
// build step.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));

const load = ({ assetDir, handler }) => {
  const [file, exportName] = handler.split(".");
  const fn = require(path.join(assetDir, `${file}.js`))[exportName];
  if (typeof fn !== "function") throw new Error(`${assetDir}: ${handler} is not a function`);
  return fn;
};

const print = (output) => {
  process.stdout.write(`${JSON.stringify({ node: process.versions.node, ...output })}\n`);
  process.exit(0);
};
const errorOf = (error) => ({ name: error?.name, message: error?.message });

// What the run is waiting for, said if it hangs (a callback never created, a step retried without end).
let waitingFor = "the execution to start";
const answered = [];
setTimeout(
  () =>
    print({
      status: "HUNG",
      error: { message: `no outcome within ${job.timeoutMs} ms, waiting for ${waitingFor}` },
      answered,
    }),
  job.timeoutMs ?? 60_000,
).unref();

/**
 * A sibling runs with its own environment, the one the template gives it (not the caller's), as in its own Lambda
 * sandbox: process.env holds the sibling's variables while its invocation runs, then the caller's again. This
 * relies on the caller not running while it waits for the invoke (true of every context.invoke here: the caller
 * awaits it before anything else).
 */
function withEnvironment(env, handler) {
  if (env === undefined) return handler;
  const swap = (next) => {
    const previous = { ...process.env };
    for (const name of Object.keys(process.env)) if (!(name in next)) delete process.env[name];
    Object.assign(process.env, next);
    return previous;
  };
  return async (...args) => {
    const previous = swap(env);
    try {
      return await handler(...args);
    } finally {
      swap(previous);
    }
  };
}

async function main() {
  if (job.mode === "plain") {
    const handler = load(job.function);
    const functionName = job.function.logicalId;
    const results = [];
    for (const [index, event] of job.events.entries()) {
      waitingFor = `the handler's answer to event ${index + 1}`;
      const context = {
        functionName,
        functionVersion: "1",
        invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
        memoryLimitInMB: "256",
        awsRequestId: `rehearsal-${index + 1}`,
        logGroupName: `/aws/lambda/${functionName}`,
        logStreamName: "rehearsal",
        callbackWaitsForEmptyEventLoop: true,
        getRemainingTimeInMillis: () => 10_000,
      };
      try {
        results.push({ returned: await handler(event, context) });
      } catch (error) {
        results.push({ threw: errorOf(error) });
      }
    }
    print({ status: "RETURNED", results });
    return;
  }

  const { LocalDurableTestRunner, WaitingOperationStatus } = require("@aws/durable-execution-sdk-js-testing");
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  let output;
  try {
    const runner = new LocalDurableTestRunner({ handlerFunction: load(job.function) });
    for (const sibling of job.registered ?? []) {
      runner.registerDurableFunction(sibling.name, withEnvironment(sibling.env, load(sibling)));
    }
    const callbacks = (job.callbacks ?? []).map((callback) => ({
      ...callback,
      handle: runner.getOperation(callback.operation),
      afterHandle: callback.after === undefined ? undefined : runner.getOperation(callback.after),
    }));
    const running = runner.run({ payload: job.input });
    for (const callback of callbacks) {
      try {
        waitingFor = `callback ${callback.operation} to be created`;
        await callback.handle.waitForData(WaitingOperationStatus.STARTED);
        if (callback.afterHandle) {
          waitingFor = `operation ${callback.after} to complete before answering ${callback.operation}`;
          await callback.afterHandle.waitForData(WaitingOperationStatus.COMPLETED);
        }
      } catch {
        break; // the execution ended without waiting for it: its outcome below says why
      }
      if (callback.deliveredBy) {
        // What the front door sent Lambda for this very callback id, byte for byte.
        const { callbackId } = callback.handle.getCallbackDetails();
        waitingFor = `a delivery for callback ${callback.operation} at ${callback.deliveredBy}`;
        const response = await fetch(`${callback.deliveredBy}/${encodeURIComponent(callbackId)}`);
        const { result } = await response.json();
        await callback.handle.sendCallbackSuccess(result);
      } else {
        await callback.handle.sendCallbackSuccess(JSON.stringify(callback.answer));
      }
      answered.push(callback.operation);
    }
    waitingFor = "the execution to end";
    const execution = await running;
    const status = execution.getStatus();
    output = {
      status,
      result: status === "SUCCEEDED" ? execution.getResult() : undefined,
      error: status === "SUCCEEDED" ? undefined : execution.getError(),
      operations: execution.getOperations().map((operation) => operation.getName()),
      answered,
    };
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
  print(output);
}

main().catch((error) => print({ status: "CRASHED", error: errorOf(error) }));
