import { explainAwsError } from "../src/aws";
import { deniedAction, TOOL_ACTIONS, whichPolicy } from "../src/policies";

const denied = (action: string, resource: string) => {
  const error = new Error(
    `User: arn:aws:sts::111111111111:assumed-role/ci/tools is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
  );
  error.name = "AccessDeniedException";
  return error;
};

describe("an access-denied error names the policy that grants the missing action", () => {
  it("ListDurableExecutionsByFunction (doctor --function): CloudTestPolicy, on every function", () => {
    const message = explainAwsError(
      denied("lambda:ListDurableExecutionsByFunction", "arn:aws:lambda:us-east-1:111111111111:function:fn"),
    );
    expect(message).toBe(
      "Access denied: User: arn:aws:sts::111111111111:assumed-role/ci/tools is not authorized to perform: " +
        "lambda:ListDurableExecutionsByFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:fn " +
        "because no identity-based policy allows the lambda:ListDurableExecutionsByFunction action. " +
        "lambda:ListDurableExecutionsByFunction is in the stack's CloudTestPolicy (output CloudTestPolicyArn), " +
        "on every function of the stack: attach it to your identity.",
    );
  });

  it("a callback action: CloudTestPolicy, and which approver policies an approver gets", () => {
    expect(whichPolicy(denied("lambda:SendDurableExecutionCallbackSuccess", "arn:x").message)).toBe(
      "lambda:SendDurableExecutionCallbackSuccess is in the stack's CloudTestPolicy (output CloudTestPolicyArn), on the " +
        "executions of the functions that wait for callbacks (an approver gets only its pattern's: " +
        "WaitCallbackApproverPolicyArn, AgentLoopApproverPolicyArn): attach it to your identity.",
    );
  });

  it("an action no policy of the stack grants says so instead of pointing at a policy", () => {
    expect(whichPolicy(denied("lambda:DeleteFunction", "arn:x").message)).toBe(
      "None of the stack's policies grants lambda:DeleteFunction: the tools do not need it, so check the function, alias and Region you named.",
    );
  });

  it("a message without the action: the policy that holds every action of the tools", () => {
    const error = Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    expect(explainAwsError(error)).toBe(
      "Access denied: Access Denied. The tools' actions are in the stack's CloudTestPolicy (output CloudTestPolicyArn): attach it to your identity.",
    );
  });

  it("reads the action out of Lambda's message; the table names a policy for each action the tools send", () => {
    expect(deniedAction(denied("lambda:InvokeFunction", "arn:x").message)).toBe("lambda:InvokeFunction");
    expect(deniedAction("no action here")).toBeUndefined();
    expect(Object.keys(TOOL_ACTIONS).sort()).toEqual([
      "lambda:GetDurableExecutionHistory",
      "lambda:InvokeFunction",
      "lambda:ListDurableExecutionsByFunction",
      "lambda:SendDurableExecutionCallbackFailure",
      "lambda:SendDurableExecutionCallbackHeartbeat",
      "lambda:SendDurableExecutionCallbackSuccess",
    ]);
  });
});
