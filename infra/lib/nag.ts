import { Stack, Validations } from "aws-cdk-lib";
import type { CfnResource } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * cdk-nag (AwsSolutions) acknowledgements. Each one names the exact finding and says why it is right
 * here; a new finding of the same rule elsewhere still fails the synth.
 */

/** Why `<function ARN>:*` is the narrowest resource for durable execution actions. */
export const EXECUTIONS_WILDCARD_REASON =
  "Durable execution actions are authorized against the execution ARN, <function ARN>:<version>/durable-execution/<name>/<id>. " +
  "The version changes with every deployment and aliases never appear in it, so <function ARN>:* is the narrowest " +
  "resource that still covers this one function's executions; it matches nothing of any other function.";

/** The finding id cdk-nag reports for `<resource logical id>.Arn` followed by `suffix` in a policy. */
export function wildcardResourceFinding(resource: IConstruct, suffix: string): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnResource;
  const logicalId = Stack.of(resource).resolve(cfn.logicalId) as string;
  return `AwsSolutions::AwsSolutions-IAM5[Resource::<${logicalId}.Arn>${suffix}]`;
}

export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
