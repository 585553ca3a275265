import { configFromEnv, dynamoCallbackRegistry } from "../deps";
import { onFirstUse } from "../on-first-use";
import { secretSetting } from "../secret-setting";
import { createApiHandler } from "./api";
import type { Executions } from "./executions";
import { createStarterHandler } from "./starter";
import { createWebhookHandler } from "./webhook";

/**
 * The deployed front door: three plain (not durable) Lambda functions. CHECKOUT_FUNCTION_ARN is the durable
 * function's alias ARN (qualified: an unqualified ARN is refused at the first call), WEBHOOK_SECRET_ARN the
 * Secrets Manager secret the provider signs with (read with secretSetting, like every secret of the pattern),
 * CALLBACK_TABLE_NAME the registry the workflow writes.
 *
 * The AWS SDK modules (the Lambda client, and Powertools' Secrets Manager one) are evaluated on first use, not
 * when Lambda loads a handler (esbuild keeps a dynamic import as a module evaluated on demand): a cold start
 * does not pay for clients the request may never need. Each is made once per sandbox and reused.
 */
const aws = onFirstUse(
  async () => new (await import("./executions")).AwsExecutions(process.env.CHECKOUT_FUNCTION_ARN ?? ""),
);
/** The signing secret's setting: its ARN is in WEBHOOK_SECRET_ARN. */
export const WEBHOOK_SECRET_SETTING = "WEBHOOK";

const lazyExecutions: Executions = {
  start: async (name, input) => (await aws()).start(name, input),
  describe: async (name) => (await aws()).describe(name),
  completeCallback: async (callbackId, result) => (await aws()).completeCallback(callbackId, result),
};

export const apiHandler = createApiHandler({ executions: lazyExecutions });

export const webhookHandler = createWebhookHandler({
  // Read as every secret setting is (src/secret-setting.ts): Powertools caches it for SECRET_MAX_AGE_SECONDS, so
  // a burst of deliveries does not call Secrets Manager for each one, and a rotated secret is picked up within
  // that time. Required: unset, unreadable or still the placeholder, every delivery is refused (503). The
  // setting is named "WEBHOOK" because its ARN is in WEBHOOK_SECRET_ARN (`<setting>_SECRET_ARN`), as the stack
  // has always set it.
  secret: () => secretSetting(WEBHOOK_SECRET_SETTING, { required: true }),
  callbacks: dynamoCallbackRegistry(() => configFromEnv().callbackTable),
  executions: lazyExecutions,
});

export const starterHandler = createStarterHandler({ executions: lazyExecutions });
