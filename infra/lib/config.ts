import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { PATTERNS, secretOutputKey, secretSettings, type PatternDefinition } from "./patterns";

/**
 * Everything a deployment may change without editing code. Each setting comes from CDK context
 * (`cdk deploy -c stage=prod`, or "context" in cdk.json) first, then from an environment variable,
 * then from the default.
 */
export interface CookbookConfig {
  /** Part of the stack name (`DurableCookbook-<stage>`) and of every log group name. */
  stage: string;
  /** The Bedrock model (or cross-Region inference profile) the agent-loop pattern converses with. */
  bedrockModelId: string;
  /** How long the functions' logs are kept. */
  logRetention: RetentionDays;
  /** Keep log groups and the document bucket when the stack is destroyed (the default for stage "prod"). */
  retainData: boolean;
  /**
   * Extra environment variables per pattern, e.g. `{ "steps": { "INVENTORY_API_URL": "https://..." } }`:
   * the URLs of the outside services a pattern talks to. Plain-text configuration, not secrets: a declared secret
   * setting, a name that looks like a secret's or a URL that carries a credential is refused (see refuseSecrets).
   */
  patternEnvironment: Record<string, Record<string, string>>;
  /** Deploy only these patterns (by folder name); undefined deploys every pattern that exists. */
  only?: string[];
}

/** Context key, environment variable and default of each setting. */
export const SETTINGS = {
  stage: { context: "stage", env: "COOKBOOK_STAGE", default: "dev" },
  bedrockModelId: { context: "bedrockModelId", env: "BEDROCK_MODEL_ID", default: "amazon.nova-lite-v1:0" },
  logRetentionDays: { context: "logRetentionDays", env: "COOKBOOK_LOG_RETENTION_DAYS", default: "14" },
  retainData: { context: "retainData", env: "COOKBOOK_RETAIN_DATA", default: undefined },
  patternEnvironment: { context: "patternEnvironment", env: "COOKBOOK_PATTERN_ENVIRONMENT", default: "{}" },
  patterns: { context: "patterns", env: "COOKBOOK_PATTERNS", default: undefined },
} as const;

export class InvalidConfigError extends Error {
  override readonly name = "InvalidConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid cookbook configuration: ${problems.join("; ")}`);
  }
}

/** Reads a context value (strings from `-c`, any JSON from cdk.json). */
export type ContextReader = (key: string) => unknown;

const VALID_RETENTION_DAYS = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === "number"),
);

export function readConfig(
  context: ContextReader,
  env: NodeJS.ProcessEnv = process.env,
  /** The patterns whose declared secret settings patternEnvironment may not set. */
  definitions: PatternDefinition[] = PATTERNS,
): CookbookConfig {
  const problems: string[] = [];
  const raw = (setting: keyof typeof SETTINGS): unknown => {
    const { context: key, env: name, default: fallback } = SETTINGS[setting];
    const fromContext = context(key);
    if (fromContext !== undefined && fromContext !== "") return fromContext;
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    return fallback;
  };

  const stage = String(raw("stage"));
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    problems.push(
      `stage "${stage}" must be 1-20 lower-case letters, digits or dashes, starting with a letter`,
    );
  }

  const bedrockModelId = String(raw("bedrockModelId"));
  if (!/^[a-z0-9-]+(\.[\w.:-]+)+$/.test(bedrockModelId)) {
    problems.push(
      `bedrockModelId "${bedrockModelId}" does not look like a Bedrock model id (vendor.model-name:version)`,
    );
  }

  const days = Number(raw("logRetentionDays"));
  if (!VALID_RETENTION_DAYS.has(days) || days === Number(RetentionDays.INFINITE)) {
    problems.push(
      `logRetentionDays "${String(raw("logRetentionDays"))}" must be one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, 60, 90, ...)`,
    );
  }

  const retainRaw = raw("retainData");
  let retainData = stage === "prod";
  if (retainRaw !== undefined) {
    if (retainRaw === true || retainRaw === "true") retainData = true;
    else if (retainRaw === false || retainRaw === "false") retainData = false;
    else problems.push(`retainData ${JSON.stringify(retainRaw)} must be true or false`);
  }

  const patternEnvironment = parsePatternEnvironment(raw("patternEnvironment"), problems);
  refuseSecrets(patternEnvironment, definitions, problems);

  const onlyRaw = raw("patterns");
  let only: string[] | undefined;
  if (onlyRaw !== undefined) {
    only = (Array.isArray(onlyRaw) ? onlyRaw.map((name) => `${name}`) : `${onlyRaw as string}`.split(","))
      .map((name) => name.trim())
      .filter(Boolean);
    if (only.length === 0) problems.push("patterns must name at least one pattern (comma-separated)");
  }

  if (problems.length > 0) throw new InvalidConfigError(problems);
  return { stage, bedrockModelId, logRetention: days, retainData, patternEnvironment, only };
}

function parsePatternEnvironment(value: unknown, problems: string[]): Record<string, Record<string, string>> {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      problems.push('patternEnvironment must be JSON: {"<pattern>": {"NAME": "value"}}');
      return {};
    }
  }
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(parsed)) {
    problems.push('patternEnvironment must be an object: {"<pattern>": {"NAME": "value"}}');
    return {};
  }
  const result: Record<string, Record<string, string>> = {};
  for (const [pattern, variables] of Object.entries(parsed)) {
    if (!isObject(variables)) {
      problems.push(`patternEnvironment.${pattern} must be an object of NAME: "value"`);
      continue;
    }
    result[pattern] = {};
    for (const [name, variable] of Object.entries(variables)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith("AWS_")) {
        problems.push(`patternEnvironment.${pattern}.${name} is not a usable environment variable name`);
      } else if (typeof variable !== "string") {
        problems.push(`patternEnvironment.${pattern}.${name} must be a string`);
      } else {
        result[pattern][name] = variable;
      }
    }
  }
  return result;
}

/** Names that hold credentials: `*_TOKEN`, `*SECRET*`, `*PASSWORD*`, `*_API_KEY`, `*WEBHOOK_URL`. */
const SECRET_LIKE_NAME = /(_TOKEN$|SECRET|PASSWORD|_API_KEY$|WEBHOOK_URL$)/i;
/** Query parameters that carry a credential: token, key, sig (api_key, access_token, X-Amz-Signature, ...). */
const CREDENTIAL_PARAMETER = /token|key|sig/i;

/**
 * patternEnvironment lands in plain text in cdk.out, the template and GetFunctionConfiguration. Refuses, naming
 * the key (never the value): a setting a pattern declares as a secret (the stack creates its secret), a name that
 * looks like a secret's, and a value that is a URL with user:password@ or a token, key or signature in its query.
 */
export function refuseSecrets(
  patternEnvironment: Record<string, Record<string, string>>,
  definitions: PatternDefinition[],
  problems: string[],
): void {
  for (const [pattern, variables] of Object.entries(patternEnvironment)) {
    const definition = definitions.find((candidate) => candidate.name === pattern);
    const declared = new Set(definition ? secretSettings(definition) : []);
    for (const [name, value] of Object.entries(variables)) {
      const key = `patternEnvironment.${pattern}.${name}`;
      if (declared.has(name)) {
        problems.push(
          `${key} is a secret setting: the stack creates a Secrets Manager secret for it; put the value there ` +
            `(aws secretsmanager put-secret-value --secret-id <the ${secretOutputKey(pattern, name)} output> --secret-string '...'), not in patternEnvironment, which is plain text`,
        );
      } else if (SECRET_LIKE_NAME.test(name)) {
        problems.push(
          `${key} looks like a secret (by its name) and patternEnvironment is plain text in the template: ` +
            `declare it as a secret grant of the pattern in infra/lib/patterns.ts`,
        );
      } else if (carriesCredential(value)) {
        problems.push(
          `${key} is a URL that carries a credential (user:password@, or a token, key or signature in its query) ` +
            `and patternEnvironment is plain text in the template: give the URL without it and the credential as a secret setting`,
        );
      }
    }
  }
}

function carriesCredential(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "") return true;
  return [...url.searchParams.keys()].some((parameter) => CREDENTIAL_PARAMETER.test(parameter));
}
