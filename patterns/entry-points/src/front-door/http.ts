import type { LambdaFunctionURLEvent } from "aws-lambda";

/** The front door runs behind a Lambda Function URL (the same event shape as API Gateway HTTP APIs, payload 2.0). */
export type HttpRequest = Pick<LambdaFunctionURLEvent, "rawPath" | "headers" | "body" | "isBase64Encoded"> & {
  requestContext: { http: { method: string } };
};
/** A Function URL result (LambdaFunctionURLResult), always in its structured form. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const MAX_BODY_BYTES = 16 * 1024;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

export const problem = (statusCode: number, message: string, details?: string[]) =>
  json(statusCode, details ? { error: message, details } : { error: message });

/** Header names arrive lower-cased from Function URLs; be lenient with callers that build events by hand. */
export function header(request: HttpRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The raw body as the client sent it (the bytes a signature covers), or a problem response. */
export function rawBody(
  request: HttpRequest,
  limit = MAX_BODY_BYTES,
): { text: string } | { response: HttpResponse } {
  const text = request.isBase64Encoded
    ? Buffer.from(request.body ?? "", "base64").toString("utf8")
    : (request.body ?? "");
  if (Buffer.byteLength(text, "utf8") > limit) {
    return { response: problem(413, `The body is larger than ${limit} bytes`) };
  }
  return { text };
}

export function parseJson(text: string): { value: unknown } | { response: HttpResponse } {
  if (text.trim() === "") return { response: problem(400, "The body is empty: send a JSON object") };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { response: problem(400, "The body is not valid JSON") };
  }
}
