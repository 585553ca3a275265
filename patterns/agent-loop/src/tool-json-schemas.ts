import { REFUND_REASONS } from "./deps";
import { MAX_REFUND_CENTS } from "./money";
import type { JsonObject } from "./model";

/**
 * The JSON Schemas the model is shown for each tool's arguments. They say the same as the zod schemas in
 * tools.ts that validate what the model sends, and test/tool-json-schemas.test.ts holds them to
 * `z.toJSONSchema` of those schemas byte for byte. Written out here rather than generated at run time
 * because zod's JSON Schema converter is about 21 KB of the handler bundle, which must stay under 150 KB.
 */
const orderId = {
  type: "string",
  pattern: "^order-\\d{1,10}$",
  description: 'The order id, for example "order-1042"',
};

const reason = {
  type: "string",
  enum: [...REFUND_REASONS],
  description: "Why the customer wants their money back",
};

function objectOf(properties: Record<string, JsonObject>): JsonObject {
  return { type: "object", properties, required: Object.keys(properties), additionalProperties: false };
}

export const toolJsonSchemas = {
  lookup_order: objectOf({ orderId }),
  check_refund_policy: objectOf({ orderId, reason }),
  issue_refund: objectOf({
    orderId,
    reason,
    amountCents: {
      type: "integer",
      exclusiveMinimum: 0,
      maximum: MAX_REFUND_CENTS,
      description: "Amount to refund, in cents, at most what the policy allows",
    },
    noteForApprover: {
      type: "string",
      minLength: 3,
      maxLength: 300,
      description: "One sentence for the approver, shown to them as written by you",
    },
  }),
};
