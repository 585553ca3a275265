import { readFileSync } from "node:fs";
import path from "node:path";
import type { Event } from "@aws-sdk/client-lambda";
import { parseHistoryText } from "../../src/history-file";

export const FIXTURES = path.join(__dirname, "..", "fixtures", "history");

export function fixturePath(name: string): string {
  return path.join(FIXTURES, `${name}.json`);
}

/** A recorded history (see scripts/record-fixtures.ts), timestamps as Dates. */
export function loadFixture(name: string): Event[] {
  return parseHistoryText(readFileSync(fixturePath(name), "utf8"), name).events;
}

/** The time of the last event, plus `ms`: "now" for a history as if it had just been fetched. */
export function shortlyAfter(events: Event[], ms = 30_000): Date {
  return new Date(Math.max(...events.map((event) => event.EventTimestamp!.getTime())) + ms);
}
