import { configFromEnv, dynamoCallbackRegistry } from "../deps";
import { onFirstUse } from "../on-first-use";
import { createApiHandler } from "./api";
import type { Executions } from "./executions";
import { createStarterHandler } from "./starter";
import { createWebhookHandler } from "./webhook";

/**
 * The deployed front door: three plain (not durable) Lambda functions. CHECKOUT_FUNCTION_ARN is the durable
 * function's alias ARN (qualified: an unqualified ARN is refused at the first call), WEBHOOK_SECRET_ARN the
 * Secrets Manager secret the provider signs with, CALLBACK_TABLE_NAME the registry the workflow writes.
 *
 * The AWS SDK modules (the Lambda client, and Powertools' Secrets Manager one) are evaluated on first use, not
 * when Lambda loads a handler (esbuild keeps a dynamic import as a module evaluated on demand): a cold start
 * does not pay for clients the request may never need. Each is made once per sandbox and reused.
 */
const aws = onFirstUse(
  async () => new (await import("./executions")).AwsExecutions(process.env.CHECKOUT_FUNCTION_ARN ?? ""),
);
const secrets = onFirstUse(() => import("@aws-lambda-powertools/parameters/secrets"));
const lazyExecutions: Executions = {
  start: async (name, input) => (await aws()).start(name, input),
  describe: async (name) => (await aws()).describe(name),
  completeCallback: async (callbackId, result) => (await aws()).completeCallback(callbackId, result),
};

export const apiHandler = createApiHandler({ executions: lazyExecutions });

export const webhookHandler = createWebhookHandler({
  // Powertools caches the secret for maxAge seconds: a rotated secret is picked up within a minute, and a
  // burst of deliveries does not call Secrets Manager for each one.
  secret: async () => {
    const arn = process.env.WEBHOOK_SECRET_ARN;
    if (!arn) return undefined;
    const { getSecret } = await secrets();
    const value = await getSecret(arn, { maxAge: 60 });
    return typeof value === "string" ? value : undefined;
  },
  callbacks: dynamoCallbackRegistry(() => configFromEnv().callbackTable),
  executions: lazyExecutions,
});

export const starterHandler = createStarterHandler({ executions: lazyExecutions });
