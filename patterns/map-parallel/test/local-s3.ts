import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";

/**
 * A real S3 implementation for the tests: s3rver, in-process, on 127.0.0.1 (an ephemeral port), keeping its
 * objects in a temporary directory. The store under test talks to it through the real S3Client (path-style
 * addressing, s3rver's fixed dummy credentials), so every request goes over HTTP and is signed as in AWS.
 * It keeps its own books: the objects, read back through S3 itself.
 */
export async function startLocalS3(buckets: string[] = ["invoices-bucket"]) {
  const directory = mkdtempSync(path.join(tmpdir(), "map-parallel-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  /** A real S3Client for this server (a new one per call, as a new sandbox would make). */
  const client = () => {
    const made = new S3Client({
      endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      maxAttempts: 1,
    });
    clients.push(made);
    return made;
  };
  const reader = client();
  return {
    endpoint,
    client,
    /** The keys stored in a bucket, sorted. */
    keys: async (bucket = buckets[0]!) => {
      const listed = await reader.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key!).sort();
    },
    /** An object as S3 serves it back: its bytes and content type. */
    object: async (key: string, bucket = buckets[0]!) => {
      const got = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: Buffer.from(await got.Body!.transformToByteArray()), contentType: got.ContentType };
    },
    close: async () => {
      for (const made of clients) made.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export type LocalS3 = Awaited<ReturnType<typeof startLocalS3>>;
