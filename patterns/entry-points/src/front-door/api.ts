import { CheckoutOrder, describeIssues, executionNameOf, ORDER_ID, plainTypeErrors } from "../input";
import type { Executions, ExecutionView } from "./executions";
import { json, parseJson, problem, rawBody, type HttpRequest, type HttpResponse } from "./http";

export interface ApiDeps {
  executions: Pick<Executions, "start" | "describe">;
  /** Where the client polls, e.g. "/orders/A-1001". */
  statusPath?: (orderId: string) => string;
}

const defaultStatusPath = (orderId: string) => `/orders/${encodeURIComponent(orderId)}`;

/**
 * The API: `POST /orders` starts a checkout, `GET /orders/{orderId}` reads it. Input is checked in full before
 * anything starts, so a bad request never leaves an execution behind.
 */
export function createApiHandler(deps: ApiDeps) {
  const statusPath = deps.statusPath ?? defaultStatusPath;
  return async (request: HttpRequest): Promise<HttpResponse> => {
    const method = request.requestContext.http.method.toUpperCase();
    const path = request.rawPath.replace(/\/+$/, "");
    try {
      if (path === "/orders") {
        return method === "POST"
          ? await startOrder(request)
          : problem(405, "Use POST /orders to start a checkout");
      }
      const status = /^\/orders\/([^/]+)$/.exec(path);
      if (status) {
        return method === "GET"
          ? await readOrder(decodeURIComponent(status[1]!))
          : problem(405, "Use GET /orders/{orderId}");
      }
      return problem(404, "Not found: POST /orders or GET /orders/{orderId}");
    } catch {
      // Lambda throttled us or was briefly unavailable: nothing to show the client but "try again". The
      // details (ARNs, request ids) stay in the function's own logs.
      return json(503, { error: "The service is busy; retry the same request" }, { "retry-after": "2" });
    }
  };

  async function startOrder(request: HttpRequest): Promise<HttpResponse> {
    const body = rawBody(request);
    if ("response" in body) return body.response;
    const parsedJson = parseJson(body.text);
    if ("response" in parsedJson) return parsedJson.response;
    const order = CheckoutOrder.safeParse(parsedJson.value, { error: plainTypeErrors });
    if (!order.success) return problem(422, "Invalid checkout order", describeIssues(order.error, "order"));

    const { orderId } = order.data;
    const started = await deps.executions.start(executionNameOf(orderId), order.data);
    if (started === "conflict") {
      return problem(
        409,
        `Order ${orderId} was already started with a different body; send the original body to read it, or use a new order id`,
      );
    }
    const location = statusPath(orderId);
    return json(
      202,
      { orderId, status: "RUNNING", statusUrl: location, repeated: started === "already-started" },
      {
        location,
      },
    );
  }

  async function readOrder(orderId: string): Promise<HttpResponse> {
    if (!ORDER_ID.test(orderId))
      return problem(400, "The order id must be 3-48 letters, digits, dashes or underscores");
    const execution = await deps.executions.describe(executionNameOf(orderId));
    if (!execution) return problem(404, `No order ${orderId}`);
    return json(200, publicView(orderId, execution));
  }
}

/** Errors the customer may read; anything else is reported without its message, which may name internals. */
const PUBLIC_ERRORS = new Set(["InvalidCheckoutOrderError"]);

/**
 * The outcome's fields a customer may read, listed: whatever else a result carries (a field added to the
 * workflow later, an id that is a credential) stays out of the status door.
 */
const PUBLIC_OUTCOME_FIELDS = ["orderId", "status", "paymentId", "shipmentId", "confirmedBy", "reason"];

function publicOutcome(result: unknown): Record<string, unknown> {
  if (result === null || typeof result !== "object") return {};
  const fields = Object.entries(result as Record<string, unknown>).filter(
    ([field, value]) =>
      PUBLIC_OUTCOME_FIELDS.includes(field) && (typeof value === "string" || typeof value === "number"),
  );
  return Object.fromEntries(fields);
}

/** Status and outcome, nothing more: no ARN, no input, no stack trace, no internal error text. */
export function publicView(orderId: string, execution: ExecutionView) {
  if (execution.status === "SUCCEEDED")
    return { orderId, status: execution.status, outcome: publicOutcome(execution.result) };
  if (execution.status === "RUNNING") return { orderId, status: execution.status };
  const type = execution.error?.type;
  return {
    orderId,
    status: execution.status,
    error:
      type && PUBLIC_ERRORS.has(type)
        ? { type, message: execution.error?.message ?? "" }
        : {
            type: "CheckoutFailed",
            message: `The checkout did not complete; quote order ${orderId} to support`,
          },
  };
}
