import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import { configFromEnv, dynamoCallbackRegistry } from "../deps";
import { createApiHandler } from "./api";
import { AwsExecutions, type Executions } from "./executions";
import { createStarterHandler } from "./starter";
import { createWebhookHandler } from "./webhook";

/**
 * The deployed front door: three plain (not durable) Lambda functions. CHECKOUT_FUNCTION_ARN is the durable
 * function's alias ARN (qualified: an unqualified ARN is refused at the first call), WEBHOOK_SECRET_ARN the
 * Secrets Manager secret the provider signs with, CALLBACK_TABLE_NAME the registry the workflow writes.
 */
let executions: AwsExecutions | undefined;
const lazyExecutions: Executions = {
  start: (name, input) => aws().start(name, input),
  describe: (name) => aws().describe(name),
  completeCallback: (callbackId, result) => aws().completeCallback(callbackId, result),
};
function aws(): AwsExecutions {
  executions ??= new AwsExecutions(process.env.CHECKOUT_FUNCTION_ARN ?? "");
  return executions;
}

export const apiHandler = createApiHandler({ executions: lazyExecutions });

export const webhookHandler = createWebhookHandler({
  // Powertools caches the secret for maxAge seconds: a rotated secret is picked up within a minute, and a
  // burst of deliveries does not call Secrets Manager for each one.
  secret: async () => {
    const arn = process.env.WEBHOOK_SECRET_ARN;
    if (!arn) return undefined;
    const value = await getSecret(arn, { maxAge: 60 });
    return typeof value === "string" ? value : undefined;
  },
  callbacks: dynamoCallbackRegistry(() => configFromEnv().callbackTable),
  executions: lazyExecutions,
});

export const starterHandler = createStarterHandler({ executions: lazyExecutions });
