import { createHash } from "node:crypto";
import type { InvoiceBatch } from "../../../patterns/map-parallel/src/input";
import { manifestOf } from "../../../patterns/map-parallel/src/chunked-manifest";
import {
  ObjectChangedError,
  ObjectNotFoundError,
  type ObjectReader,
} from "../../../patterns/map-parallel/src/deps";

/**
 * The chunked run's batch by reference, in memory: the bench stages each batch's manifest (manifestOf) here and
 * passes only `manifest: { key }` in the event. The store reads as S3 does for the recipe's reader (the
 * ObjectReader of src/deps.ts, as the recipe's tests fake it): by key, a range of bytes (both ends included, cut
 * at the object's end), an ETag that is the content's digest (a simple upload's), If-Match refused when the
 * object changed. Chunk records the run stores in its document store are read back from `documents`.
 */
export function memoryObjects(documents: { get(key: string): Uint8Array | undefined } = new Map()) {
  const manifests = new Map<string, Uint8Array>();
  let reads = 0;
  let bytesRead = 0;
  const etagOf = (body: Uint8Array) => `"${createHash("md5").update(body).digest("hex")}"`;
  const objects: ObjectReader = {
    read: async ({ key, range, ifMatch }) => {
      reads += 1;
      const body = manifests.get(key) ?? documents.get(key);
      if (!body) throw new ObjectNotFoundError(`GetObject ${key}: NoSuchKey`);
      const etag = etagOf(body);
      if (ifMatch !== undefined && ifMatch !== etag)
        throw new ObjectChangedError(
          `GetObject ${key}: PreconditionFailed (its ETag is no longer ${ifMatch})`,
        );
      if (range && (range.start < 0 || range.end < range.start || range.start >= body.byteLength))
        throw new Error(
          `GetObject ${key}: InvalidRange bytes=${range.start}-${range.end} of ${body.byteLength}`,
        );
      const part = range ? body.subarray(range.start, range.end + 1) : body;
      bytesRead += part.byteLength;
      return { body: Uint8Array.from(part), etag, objectBytes: body.byteLength };
    },
  };
  return {
    objects,
    manifests,
    /** Reads answered and bytes served: the store's own books. */
    books: () => ({ reads, bytesRead }),
  };
}

export type MemoryObjects = ReturnType<typeof memoryObjects>;

/** The event for `batch` by reference: its manifest staged under `manifests/<batchId>.manifest`. */
export function stageByReference<B extends InvoiceBatch>(store: MemoryObjects, batch: B) {
  const { invoices, ...fields } = batch;
  const key = `manifests/${batch.batchId}.manifest`;
  store.manifests.set(key, manifestOf(fields, invoices));
  return { ...fields, manifest: { key } };
}
