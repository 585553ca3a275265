import { mkdtempSync } from "node:fs";
import { readdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** dynalite: DynamoDB's API in this process, in memory, on 127.0.0.1. */
export async function localDynamoDb() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require("dynalite") as (options: {
    createTableMs: number;
    deleteTableMs: number;
  }) => import("node:http").Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** s3rver: S3's API in this process, objects in a temporary directory, on 127.0.0.1. */
export async function localS3() {
  const directory = mkdtempSync(path.join(tmpdir(), "rehearsal-s3-"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true });
  const address = await server.run();
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    createBucket: async (name: string) => {
      const response = await fetch(`${url}/${name}`, { method: "PUT" });
      if (!response.ok) throw new Error(`s3rver refused bucket ${name}: ${response.status}`);
    },
    /** The object keys stored in a bucket, read from s3rver's own directory. */
    keys: async (bucket: string): Promise<string[]> => {
      const walk = async (dir: string): Promise<string[]> => {
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        const nested = await Promise.all(
          entries.map((entry) =>
            entry.isDirectory()
              ? walk(path.join(dir, entry.name))
              : Promise.resolve([path.join(dir, entry.name)]),
          ),
        );
        return nested.flat();
      };
      return (await walk(path.join(directory, bucket))).filter((file) => file.endsWith("._S3rver_object"));
    },
    close: () => server.close(),
  };
}
