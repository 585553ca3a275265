/**
 * Settings that are secrets (API tokens, a webhook URL with its key in it), read from AWS Secrets Manager. This file
 * is the same in every pattern of the cookbook (tools/docs-check keeps the copies identical).
 *
 * A secret never goes in the function's environment: that is plain text in `cdk.out`, the CloudFormation template
 * and `GetFunctionConfiguration`. The environment holds only the secret's ARN, in `<SETTING>_SECRET_ARN`; the
 * stack grants the function `secretsmanager:GetSecretValue` on exactly that secret (infra, grant kind `secret`).
 *
 * Read it inside the step that needs it, never in the workflow's body: it is I/O, and its value must not be
 * checkpointed. Powertools Parameters keeps each value for `maxAge` seconds per sandbox, so a warm function
 * does not call Secrets Manager on every step, and a rotated value is picked up within that time.
 */
import { onFirstUse } from "./on-first-use";

/**
 * What the stack puts in a secret it creates, until someone puts the real value there. An optional setting that
 * still holds it is not set (a service that needs no token gets none); a required one is refused.
 */
export const SECRET_PLACEHOLDER = "set-me: put the real value of this setting here";

/** How long one sandbox keeps a secret's value before reading it again. */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * A secret setting that cannot be used: not configured, set in plain text, missing, unreadable or still the
 * placeholder. Names the setting and what to do, never the value. `retryable` is true only when Secrets Manager
 * itself failed for a while (throttled, internal error, network); everything else needs a person.
 */
export class SecretSettingError extends Error {
  override readonly name = "SecretSettingError";
  constructor(
    message: string,
    readonly setting: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * How long a read of Secrets Manager may take: the SDK's default client waits for ever, so a Secrets Manager that
 * never answers would hang the step until the invocation's timeout (and its HTTP handler only logs a warning when
 * `requestTimeout` passes, unless `throwOnRequestTimeout` is set). One attempt per read: a timeout is a retryable
 * SecretSettingError, and the step's own retry strategy decides when to try again.
 */
export const SECRET_READ_TIMEOUTS = {
  connectionTimeout: 2_000,
  requestTimeout: 3_000,
  throwOnRequestTimeout: true,
} as const;

const secrets = onFirstUse(async () => {
  const [{ getSecret, SecretsProvider }, { DEFAULT_PROVIDERS }] = await Promise.all([
    import("@aws-lambda-powertools/parameters/secrets"),
    import("@aws-lambda-powertools/parameters/base"),
  ]);
  // getSecret uses Powertools' default provider, made with a default client on first use. Made here first, with
  // timeouts, it is still the default one, so Powertools' clearCaches() (tests) clears it like any other.
  if (!Object.hasOwn(DEFAULT_PROVIDERS, "secrets")) {
    DEFAULT_PROVIDERS.secrets = new SecretsProvider({
      clientConfig: { requestHandler: SECRET_READ_TIMEOUTS, maxAttempts: 1 },
    });
  }
  return { getSecret };
});

/**
 * The value of secret setting `setting` (e.g. "ORDER_API_TOKEN"), from the secret whose ARN is in
 * `<setting>_SECRET_ARN`. An optional setting whose ARN is not configured, or whose secret still holds the
 * placeholder, is `undefined` (no token is sent); a required one throws. A value found in the plain environment is
 * refused rather than used.
 */
export async function secretSetting(
  setting: string,
  options: { required: boolean; env?: NodeJS.ProcessEnv },
): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const arnSetting = `${setting}_SECRET_ARN`;
  if (env[setting] !== undefined && env[setting] !== "") {
    throw new SecretSettingError(
      `${setting} is set in the plain environment, where the template and GetFunctionConfiguration show it: ` +
        `put it in Secrets Manager and set ${arnSetting} to the secret's ARN`,
      setting,
    );
  }
  const arn = env[arnSetting] ?? "";
  if (arn === "") {
    if (!options.required) return undefined;
    throw new SecretSettingError(
      `${arnSetting} is not set: it must name the secret holding ${setting}`,
      setting,
    );
  }
  let value: unknown;
  try {
    value = await readSecret(arn);
  } catch (error) {
    const reason = awsErrorName(error);
    const retryable = !PERMANENT_READ_ERRORS.has(reason);
    throw new SecretSettingError(
      `${setting} could not be read from the secret in ${arnSetting} (${reason}${retryable ? "" : ": " + hintFor(reason)})`,
      setting,
      retryable,
    );
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new SecretSettingError(`the secret in ${arnSetting} holds no text value for ${setting}`, setting);
  }
  const text = value.trim();
  if (text === SECRET_PLACEHOLDER) {
    if (!options.required) return undefined;
    throw new SecretSettingError(
      `the secret in ${arnSetting} still holds the placeholder the stack put there: put the real ${setting} in it`,
      setting,
    );
  }
  if (isJsonObject(text)) {
    throw new SecretSettingError(
      `the secret in ${arnSetting} holds a key/value JSON object (the console's default): store the plain value ` +
        `of ${setting} as the secret's text`,
      setting,
    );
  }
  // A token goes in a header and a URL in a request line: a line break there would forge a header (fetch refuses
  // it, with an error that cannot name the setting), and anything else outside printable ASCII cannot be sent.
  if (!/^[\x20-\x7e]*$/.test(text)) {
    throw new SecretSettingError(
      `the secret in ${arnSetting} holds characters an HTTP header or URL cannot carry (control characters or ` +
        `non-ASCII) in ${setting}`,
      setting,
    );
  }
  return text;
}

/**
 * Reads in flight, one per secret: steps that start together on a cold sandbox (a map's items, parallel branches)
 * share the first read instead of each sending GetSecretValue, since Powertools caches a value only once it has
 * arrived. A settled read is forgotten: its value is in Powertools' cache, and a failure is not kept.
 */
const reading = new Map<string, Promise<unknown>>();

async function readSecret(arn: string): Promise<unknown> {
  const pending = reading.get(arn);
  if (pending) return pending;
  const read = secrets().then(({ getSecret }) => getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS }));
  reading.set(arn, read);
  try {
    return await read;
  } finally {
    if (reading.get(arn) === read) reading.delete(arn);
  }
}

function isJsonObject(text: string): boolean {
  if (!text.startsWith("{")) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** Answers that will not change by asking again: the secret or the permission must be fixed first. */
const PERMANENT_READ_ERRORS: ReadonlySet<string> = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "DecryptionFailure",
  "InvalidParameterException",
  "InvalidRequestException",
  "ValidationException",
]);

function hintFor(reason: string): string {
  if (reason === "ResourceNotFoundException") return "no such secret, or it has no current value";
  if (reason.startsWith("AccessDenied")) return "the function's role may not read it";
  if (reason === "DecryptionFailure") return "its KMS key cannot decrypt it";
  return "the secret's ARN or state is wrong";
}

/** The AWS error's name, looked for through Powertools' wrapping (`cause`). */
function awsErrorName(error: unknown): string {
  for (let current = error as { name?: unknown; cause?: unknown } | undefined; current;) {
    const { name } = current;
    if (typeof name === "string" && name !== "Error" && name !== "GetParameterError") return name;
    current = current.cause as typeof current | undefined;
  }
  return "unknown error";
}
