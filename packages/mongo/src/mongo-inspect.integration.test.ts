import type { Inspector } from '@ferry/core';
import { mongoUrl, tcpRelay, uniqueName, unusedPort, writeDeadLetters } from '@ferry/testkit';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoSink, mongoConnector } from './index.js';
import { parseMongoUrl } from './mongo-config.js';

// Against MONGO_URL, a mongod on PATH or the in-repo test server (see vitest.global-setup.ts).
let client: MongoClient;
let db: Db;
const database = uniqueName('ferry_test_inspect').replace(/\./g, '_');
const inspectors: Inspector[] = [];
const settings = { timeoutMs: 3000, clientName: 'ferry:inspect-test' };

const inspector = (url = mongoUrl(), more: Record<string, unknown> = {}): Inspector => {
  const opened = mongoConnector.inspect!({ kind: 'mongo', url, ...more }, settings);
  inspectors.push(opened);
  return opened;
};
/** MONGO_URL's scheme, user and hosts (the user replaced by `credentials` when given), then `rest`: a path and options. */
const onHosts = (rest: string, credentials?: string): string => {
  const base = /^mongodb(?:\+srv)?:\/\/[^/?]+/.exec(mongoUrl())![0];
  return `${credentials === undefined ? base : base.replace(/\/\/(?:[^@/]*@)?/, `//${credentials}@`)}${rest}`;
};

beforeAll(async () => {
  client = new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  db = client.db(database);
});
afterAll(async () => {
  await Promise.all(inspectors.map((i) => i.close()));
  await db.dropDatabase();
  await client.close();
});

describe('mongo inspect', () => {
  it('probes the server: its version from buildInfo', async () => {
    const { version } = await client.db('admin').command({ buildInfo: 1 });
    expect(await inspector().probe()).toEqual({ version, detail: 'reachable, ping and buildInfo answered' });
    expect(await inspector(onHosts(`/${database}`), { database }).probe()).toMatchObject({ version });
  });

  it('says credentials refused for a user the server does not take, unreachable for a port nothing listens on', async () => {
    // A mongod without this user refuses the login as the test server refuses every login.
    const wrong = onHosts('/app?authSource=admin', 'ferry-nobody:s3cret');
    const refused = await inspector(wrong)
      .probe()
      .catch((error: Error) => error);
    expect((refused as Error).message).toMatch(/^credentials refused: Authentication failed/);
    expect((refused as Error).message).not.toContain('s3cret');
    await expect(inspector(`mongodb://127.0.0.1:${await unusedPort()}/app`).probe()).rejects.toThrow(
      /^unreachable: .*ECONNREFUSED/,
    );
  });

  it('forgets a failed connect: the next question connects again', async () => {
    const port = await unusedPort();
    const url = `mongodb://127.0.0.1:${port}/app?directConnection=true`;
    const probe = inspector(url);
    await expect(probe.probe()).rejects.toThrow(/^unreachable: /);
    const [host, serverPort] = parseMongoUrl(mongoUrl())!.hosts[0]!.split(':');
    const relay = await tcpRelay(port, Number(serverPort), host);
    try {
      expect((await probe.probe()).detail).toBe('reachable, ping and buildInfo answered');
    } finally {
      await probe.close();
      await relay.close();
    }
  });

  it("counts a collection's documents, for a source's options or a sink's, in the database they name", async () => {
    await db.collection('docs').insertMany(Array.from({ length: 9 }, (_, n) => ({ n })));
    expect(await db.collection('docs').countDocuments()).toBe(9);
    // The connection names no database: each endpoint names its own.
    const probe = inspector();
    const url = mongoUrl();
    expect(await probe.depth({ kind: 'mongo', url, database, collection: 'docs', mode: 'move' })).toBe(9);
    expect(await probe.depth({ url, database, collection: 'docs', maxDocuments: 100 })).toBe(9);
    expect(await probe.depth({ url: onHosts(`/${database}`), collection: 'docs' })).toBe(9);
    expect(await probe.depth({ url, database, collection: 'none' })).toBe(0);
    await expect(probe.depth({ url, collection: 'docs' })).rejects.toThrow(/give database, or name it in the url path/);
  });

  it('reads the newest dead letters as the pump writes them, by rejectedAt, without taking them', async () => {
    const options = { url: mongoUrl(), database, collection: 'dead' };
    const ids = await writeDeadLetters(createMongoSink(options), ['older: over 16 MiB', 'middle', 'newer: $ field']);
    const stored = await db.collection('dead').find().sort({ rejectedAt: -1 }).toArray();
    const latest = await inspector().latest!(options, 2);
    expect(latest).toEqual([
      { id: ids[2], reason: 'newer: $ field', sourceId: ids[2], at: stored[0]!.rejectedAt.toISOString() },
      { id: ids[1], reason: 'middle', sourceId: ids[1], at: stored[1]!.rejectedAt.toISOString() },
    ]);
    expect(await db.collection('dead').countDocuments()).toBe(3);
  });

  it('shows documents written by hand with text times, and one without a reason', async () => {
    await db
      .collection('hand')
      .insertMany([
        { _id: 'a' as never, reason: 'older', sourceId: 'm-1', rejectedAt: '2026-01-01T00:00:00.000Z' },
        { _id: 'b' as never, reason: 'newer', sourceId: 'm-2', rejectedAt: '2026-01-02T00:00:00.000Z' },
        { n: 1 },
      ]);
    const latest = await inspector().latest!({ url: mongoUrl(), database, collection: 'hand' }, 5);
    expect(latest.slice(0, 2)).toEqual([
      { id: 'b', reason: 'newer', sourceId: 'm-2', at: '2026-01-02T00:00:00.000Z' },
      { id: 'a', reason: 'older', sourceId: 'm-1', at: '2026-01-01T00:00:00.000Z' },
    ]);
    expect(latest[2]).toMatchObject({ reason: '(no reason recorded)' });
  });
});
