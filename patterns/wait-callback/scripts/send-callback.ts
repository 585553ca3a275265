/**
 * Completes a callback of a running execution, as your approval page (or any outside system) would:
 *
 *   node scripts/send-callback.ts approve   <callbackId> <decidedBy> [comment]
 *   node scripts/send-callback.ts reject    <callbackId> <reason>
 *   node scripts/send-callback.ts heartbeat <callbackId>
 *   node scripts/send-callback.ts answer    <callbackId> '<raw JSON answer>'
 *
 * Node 22.18+ runs this TypeScript file as is (type stripping). It uses the default AWS credential chain and
 * region, and needs lambda:SendDurableExecutionCallbackSuccess, ...Failure and ...Heartbeat.
 * The callback id is a credential: it is never printed, not even in part; a fingerprint (a hash) is, the same
 * one the workflow logs.
 */
import { createHash } from "node:crypto";
import {
  LambdaClient,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from "@aws-sdk/client-lambda";

export const USAGE = "Usage: send-callback.ts approve|reject|heartbeat|answer <callbackId> [...]";

export async function sendCallback(client: Pick<LambdaClient, "send">, args: string[]): Promise<string> {
  const [action, callbackId, ...rest] = args;
  if (!callbackId) throw new Error(USAGE);
  const shown = `callback#${createHash("sha256").update(callbackId).digest("hex").slice(0, 12)}`;
  switch (action) {
    case "approve": {
      const [decidedBy, ...comment] = rest;
      if (!decidedBy) throw new Error("approve needs <decidedBy>");
      const answer = {
        decision: "approve",
        decidedBy,
        ...(comment.length > 0 ? { comment: comment.join(" ") } : {}),
      };
      // The field is Result (bytes), not Payload. The workflow's serdes receives it as a string and validates it.
      await client.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: Buffer.from(JSON.stringify(answer)),
        }),
      );
      return `approved ${shown} as ${decidedBy}`;
    }
    case "answer": {
      // Any bytes at all: handy to see how the workflow handles a malformed answer.
      await client.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: Buffer.from(rest.join(" ")),
        }),
      );
      return `answered ${shown}`;
    }
    case "reject": {
      const reason = rest.join(" ") || "Rejected";
      // A failure reaches the workflow as CallbackExternalError with this message.
      await client.send(
        new SendDurableExecutionCallbackFailureCommand({
          CallbackId: callbackId,
          Error: { ErrorType: "Rejected", ErrorMessage: reason },
        }),
      );
      return `rejected ${shown}: ${reason}`;
    }
    case "heartbeat": {
      // Restarts the callback's heartbeat clock (heartbeatTimeout); the overall timeout still applies.
      await client.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId: callbackId }));
      return `heartbeat sent for ${shown}`;
    }
    default:
      throw new Error(USAGE);
  }
}

// Run only when executed directly, not when a test imports the module.
if (process.argv[1]?.endsWith("send-callback.ts")) {
  sendCallback(new LambdaClient({}), process.argv.slice(2)).then(
    (line) => console.log(line),
    (error: Error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
