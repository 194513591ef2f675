import { type Db, type Document, MongoClient, type MongoClientOptions, MongoServerError } from 'mongodb';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type MongoTestServer, startMongoTestServer } from './mongo-test-server.js';
import { uniqueName } from './names.js';

/** A test server and a driver client on it, for the tests of one file. */
export interface MongoTestFixture {
  readonly server: MongoTestServer;
  readonly client: MongoClient;
  /** A database of its own for the test that asks (`prefix_<unique>`), dropped after the test. */
  database(prefix: string): Db;
  /** The database `database` gave last. */
  readonly db: Db;
}

/** Starts the test server before a file's tests and stops it after; each test's database is dropped after it. */
export function useMongoTestServer(options: MongoClientOptions = {}): MongoTestFixture {
  let server: MongoTestServer | undefined;
  let client: MongoClient | undefined;
  let last: Db | undefined;
  const made: string[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the MongoDB test ${what} is not started: use it inside a test`);
    return value;
  };
  beforeAll(async () => {
    server = await startMongoTestServer();
    client = new MongoClient(server.url, { serverSelectionTimeoutMS: 3000, ...options });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });
  afterEach(async () => {
    for (const name of made.splice(0)) await ready(client, 'client').db(name).dropDatabase();
  });
  return {
    get server() {
      return ready(server, 'server');
    },
    get client() {
      return ready(client, 'client');
    },
    database(prefix) {
      const name = uniqueName(prefix).replace(/\./g, '_');
      made.push(name);
      last = ready(client, 'client').db(name);
      return last;
    },
    get db() {
      return ready(last, 'database');
    },
  };
}

/** The server's error for an operation that must fail: its code as a number, message and whole reply. */
export async function serverError(
  promise: Promise<unknown>,
): Promise<{ code: number; message: string; errorResponse: Document }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MongoServerError);
  const { code, message, errorResponse } = error as MongoServerError;
  return { code: Number(code), message, errorResponse };
}
