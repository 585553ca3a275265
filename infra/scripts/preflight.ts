import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

/**
 * Runs before `deploy`, `destroy` and `bootstrap`: checks that AWS credentials and a Region are set up,
 * and explains how to set them up when they are not, instead of letting the CDK CLI fail with a stack trace.
 */

export interface Identity {
  account: string;
  arn: string;
  region: string;
}

export type PreflightResult = { ok: true; identity: Identity } | { ok: false; problem: string; help: string };

/** What preflight needs from an STS client (tests pass a stub). */
export interface StsLike {
  region(): Promise<string>;
  getCallerIdentity(): Promise<{ Account?: string; Arn?: string }>;
}

export const SETUP_HELP = [
  "Deploying the cookbook needs an AWS account and credentials for it:",
  "  - AWS IAM Identity Center (SSO): `aws configure sso`, then `aws sso login --profile <name>` and `export AWS_PROFILE=<name>`",
  "  - access keys: `aws configure`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment",
  "  - a Region where Lambda durable functions are available: `export AWS_REGION=us-east-2` (or `region` in the profile)",
  "Then, once per account and Region: `pnpm --filter @durable-cookbook/infra run bootstrap`.",
  "Check with `aws sts get-caller-identity`.",
].join("\n");

export async function preflight(sts: StsLike): Promise<PreflightResult> {
  let region: string;
  try {
    region = await sts.region();
  } catch {
    return { ok: false, problem: "No AWS Region is configured.", help: SETUP_HELP };
  }
  if (!region) return { ok: false, problem: "No AWS Region is configured.", help: SETUP_HELP };

  try {
    const identity = await sts.getCallerIdentity();
    if (!identity.Account || !identity.Arn) {
      return {
        ok: false,
        problem: "STS did not say which account these credentials belong to.",
        help: SETUP_HELP,
      };
    }
    return { ok: true, identity: { account: identity.Account, arn: identity.Arn, region } };
  } catch (error) {
    return { ok: false, problem: describe(error), help: SETUP_HELP };
  }
}

/** One sentence for the usual failures; the SDK's own message for the rest. */
export function describe(error: unknown): string {
  const { name = "", message = String(error) } = (error ?? {}) as { name?: string; message?: string };
  const code = (error as { code?: string } | undefined)?.code ?? "";
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return "No AWS credentials were found (environment, shared config files, SSO or instance role).";
  }
  if (/expired/i.test(name) || /expired/i.test(message)) {
    return `The AWS credentials have expired (${message}). Log in again, e.g. \`aws sso login\`.`;
  }
  if (
    name === "InvalidClientTokenId" ||
    name === "SignatureDoesNotMatch" ||
    name === "UnrecognizedClientException"
  ) {
    return `AWS rejected the credentials (${name}): the access key or secret is wrong or was deactivated.`;
  }
  if (
    name === "TimeoutError" ||
    name === "AbortError" ||
    /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(`${code} ${message}`)
  ) {
    return `Could not reach AWS STS to check the credentials (${message}). Check the network or proxy settings.`;
  }
  return `Checking the credentials with STS failed: ${name ? `${name}: ` : ""}${message}`;
}

export function realSts(): StsLike {
  const client = new STSClient({ maxAttempts: 2 });
  return {
    region: () => client.config.region(),
    getCallerIdentity: () =>
      client.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(10_000) }),
  };
}

async function main(): Promise<void> {
  const result = await preflight(realSts());
  if (!result.ok) {
    console.error(`\n✗ ${result.problem}\n\n${result.help}\n`);
    process.exitCode = 1;
    return;
  }
  const { account, arn, region } = result.identity;
  console.error(`✓ AWS account ${account}, Region ${region}, as ${arn}`);
}

if (require.main === module) void main();
