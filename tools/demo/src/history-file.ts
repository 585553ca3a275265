import type { Event } from "@aws-sdk/client-lambda";

/** A history the user handed us cannot be read: the message says why and what to do. */
export class HistoryFileError extends Error {
  override readonly name = "HistoryFileError";
}

export interface HistoryDocument {
  events: Event[];
  /** Set when the document is one page of a longer history. */
  nextMarker?: string;
}

const TIMESTAMP_FIELDS = new Set([
  "EventTimestamp",
  "ScheduledEndTimestamp",
  "StartTimestamp",
  "EndTimestamp",
]);

/**
 * Reads what `aws lambda get-durable-execution-history` prints (`{ "Events": [...] }`), what
 * GetDurableExecutionHistory returns, or a bare array of events. Timestamps become Dates whether they
 * are ISO 8601 strings (the CLI's default) or epoch seconds.
 */
export function parseHistoryText(text: string, source: string): HistoryDocument {
  if (text.trim() === "")
    throw new HistoryFileError(
      `${source} is empty: expected the JSON that get-durable-execution-history prints`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) =>
      TIMESTAMP_FIELDS.has(key) ? toDate(value, key) : value,
    );
  } catch (error) {
    if (error instanceof HistoryFileError) throw new HistoryFileError(`${source}: ${error.message}`);
    const message = (error as Error).message;
    const truncated = /end of (JSON )?input|Unterminated/i.test(message);
    throw new HistoryFileError(
      truncated
        ? `${source} ends before its JSON does: the file looks truncated (was the command's output cut off?). ${message}`
        : `${source} is not valid JSON: ${message}`,
    );
  }
  const document = Array.isArray(parsed) ? { Events: parsed } : parsed;
  if (!isRecord(document) || !Array.isArray(document.Events)) {
    throw new HistoryFileError(
      `${source} has no "Events" array: expected the output of aws lambda get-durable-execution-history`,
    );
  }
  const events = document.Events as unknown[];
  events.forEach((event, index) => {
    if (!isRecord(event) || typeof event.EventType !== "string") {
      throw new HistoryFileError(
        `${source}: Events[${index}] has no EventType: this is not a durable execution history`,
      );
    }
    if (!(event.EventTimestamp instanceof Date)) {
      throw new HistoryFileError(`${source}: Events[${index}] (${event.EventType}) has no EventTimestamp`);
    }
  });
  const result: HistoryDocument = { events: events as Event[] };
  if (typeof document.NextMarker === "string" && document.NextMarker) result.nextMarker = document.NextMarker;
  return result;
}

function toDate(value: unknown, key: string): Date {
  const date =
    typeof value === "number"
      ? new Date(value < 1e11 ? value * 1000 : value)
      : typeof value === "string"
        ? new Date(value)
        : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw new HistoryFileError(`${key} ${JSON.stringify(value)} is not a timestamp`);
  return date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
