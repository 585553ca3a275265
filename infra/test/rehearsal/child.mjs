// Runs one deployed function's bundle, exactly as synthesized, in this fresh Node process: the environment is the
// one the template gives the function (set by the parent), the handler is loaded from the asset directory the way
// Lambda loads it (`index.<export>`), and the happy path runs through LocalDurableTestRunner. Callbacks the job
// names are answered as an outside system would. Prints one JSON line: what the execution did.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(import.meta.url);
const { LocalDurableTestRunner, WaitingOperationStatus } = require("@aws/durable-execution-sdk-js-testing");

const load = ({ assetDir, handler }) => {
  const [file, exportName] = handler.split(".");
  const fn = require(path.join(assetDir, `${file}.js`))[exportName];
  if (typeof fn !== "function") throw new Error(`${assetDir}: ${handler} is not a function`);
  return fn;
};

await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
let output;
try {
  const runner = new LocalDurableTestRunner({ handlerFunction: load(job.function) });
  for (const sibling of job.registered ?? []) runner.registerDurableFunction(sibling.name, load(sibling));
  const running = runner.run({ payload: job.input });
  for (const callback of job.callbacks ?? []) {
    const operation = runner.getOperation(callback.operation);
    await operation.waitForData(WaitingOperationStatus.SUBMITTED);
    await operation.sendCallbackSuccess(JSON.stringify(callback.answer));
  }
  const execution = await running;
  const status = execution.getStatus();
  output = {
    node: process.versions.node,
    status,
    result: status === "SUCCEEDED" ? execution.getResult() : undefined,
    error: status === "SUCCEEDED" ? undefined : execution.getError(),
    operations: execution.getOperations().map((operation) => operation.getName()),
  };
} finally {
  await LocalDurableTestRunner.teardownTestEnvironment();
}
process.stdout.write(`${JSON.stringify(output)}\n`);
process.exit(0);
