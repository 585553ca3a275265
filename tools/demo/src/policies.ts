/**
 * Which of the stack's managed policies grants each AWS action the cookbook's tools send: `pnpm demo <pattern>
 * --cloud`, `pnpm run doctor` (with the AWS CLI commands it prints to complete a callback) and `pnpm test:cloud`.
 * infra/test/tool-actions.test.ts collects the actions the tools' clients send and holds this table to the
 * synthesized policies, so an access-denied message names the policy that really grants the missing action.
 */
export interface PolicyGrant {
  /** The stack output with the policy's ARN. */
  output: string;
  /** Where the policy allows the action. */
  on: string;
}

const CLOUD_TEST: PolicyGrant = { output: "CloudTestPolicyArn", on: "" };

/** For the callback actions: the approver policy of the pattern, one per pattern that waits for callbacks. */
export const APPROVER_POLICY_OUTPUTS = ["WaitCallbackApproverPolicyArn", "AgentLoopApproverPolicyArn"];

export const TOOL_ACTIONS: Record<string, PolicyGrant> = {
  "lambda:InvokeFunction": {
    ...CLOUD_TEST,
    on: "the live aliases of the functions the tools start (not saga's payment function: only the saga starts it)",
  },
  "lambda:GetDurableExecutionHistory": { ...CLOUD_TEST, on: "the executions of every function of the stack" },
  "lambda:ListDurableExecutionsByFunction": { ...CLOUD_TEST, on: "every function of the stack" },
  ...Object.fromEntries(
    ["Success", "Failure", "Heartbeat"].map((kind) => [
      `lambda:SendDurableExecutionCallback${kind}`,
      {
        ...CLOUD_TEST,
        on: `the executions of the functions that wait for callbacks (an approver gets only its pattern's: ${APPROVER_POLICY_OUTPUTS.join(", ")})`,
      },
    ]),
  ),
};

/** `lambda:ListDurableExecutionsByFunction` from "... is not authorized to perform: lambda:ListDurableExecutionsByFunction on resource: ...". */
export function deniedAction(message: string): string | undefined {
  return /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
}

/** The sentence after "Access denied: <AWS's message>." that says which policy to attach. */
export function whichPolicy(message: string): string {
  const action = deniedAction(message);
  const grant = action ? TOOL_ACTIONS[action] : undefined;
  if (action && grant)
    return `${action} is in the stack's CloudTestPolicy (output ${grant.output}), on ${grant.on}: attach it to your identity.`;
  if (action)
    return `None of the stack's policies grants ${action}: the tools do not need it, so check the function, alias and Region you named.`;
  return "The tools' actions are in the stack's CloudTestPolicy (output CloudTestPolicyArn): attach it to your identity.";
}
