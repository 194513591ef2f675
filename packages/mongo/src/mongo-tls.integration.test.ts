import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, FatalError } from '@ferry/core';
import {
  makeTestCertificates,
  sampleRecords,
  startTlsTestMongo,
  type TestCertificates,
  type TlsTestMongo,
  tlsTestMongoSkipReason,
  uniqueName,
} from '@ferry/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoSink, createMongoSource, documentToValue } from './index.js';

const skipReason = tlsTestMongoSkipReason();
const database = uniqueName('ferry_test_tls').replace(/\./g, '_');

let dir: string;
let certs: TestCertificates;
let server: TlsTestMongo;
let asking: TlsTestMongo;

/** A driver client of the test's own, over TLS with what `mongo` asks: to seed and read back. */
async function driver(mongo: TlsTestMongo): Promise<MongoClient> {
  const { caFile, certFile, keyFile } = mongo.tls;
  const client = new MongoClient(mongo.url, {
    tls: true,
    ca: await readFile(caFile, 'utf8'),
    ...(certFile === undefined ? {} : { cert: await readFile(certFile, 'utf8') }),
    ...(keyFile === undefined ? {} : { key: await readFile(keyFile, 'utf8') }),
    serverSelectionTimeoutMS: 3000,
  });
  await client.connect();
  return client;
}

const options = (mongo: TlsTestMongo, collection: string, tls: Record<string, unknown>) => ({
  url: mongo.url,
  database,
  collection,
  connectionName: 'secure',
  serverSelectionTimeoutMs: 1500,
  tls,
});

/** What opening a sink with this tls option throws. */
async function openError(mongo: TlsTestMongo, tls: Record<string, unknown>): Promise<unknown> {
  const sink = createMongoSink(options(mongo, 'refused', tls));
  try {
    await sink.open();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await sink.close();
  }
}

describe.skipIf(skipReason !== undefined)('mongo over TLS', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-mongo-tls-'));
    certs = await makeTestCertificates(dir);
    server = await startTlsTestMongo(certs);
    asking = await startTlsTestMongo(certs, { clientCertificates: true });
  }, 30_000);
  afterAll(async () => {
    const client = server === undefined ? undefined : await driver(server);
    await client?.db(database).dropDatabase();
    await client?.close();
    await server?.close();
    await asking?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes documents through the sink and moves them out through the source, over TLS', async () => {
    const collection = uniqueName('tls');
    const records = sampleRecords(20, 'tls');
    const sink = createMongoSink(options(server, collection, server.tls));
    await sink.open();
    await sink.write(records);
    await sink.close();
    const client = await driver(server);
    try {
      const docs = await client.db(database).collection(collection).find({}, { promoteValues: false }).toArray();
      expect(docs.map(({ _id }) => String(_id))).toEqual(records.map((record) => record.id));
      expect(docs.map(({ _id, ...value }) => documentToValue(value))).toEqual(records.map((record) => record.value));
      const source = createMongoSource({ ...options(server, collection, server.tls), mode: 'move' });
      await source.open();
      const batch = await source.read(100, { waitMs: 0 });
      // In _id order: text ids sort as text (tls-10 before tls-2).
      expect(batch.records.map((record) => record.id)).toEqual(records.map((record) => record.id).sort());
      await source.ack(batch);
      await source.close();
      expect(await client.db(database).collection(collection).countDocuments()).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('refuses a server whose certificate another CA signed, naming the connection and the certificate', async () => {
    const error = await openError(server, { ca: certs.strangerCa });
    expect(error).toBeInstanceOf(FatalError);
    const address = new URL(server.url.replace(/^mongodb/, 'http')).host;
    expect((error as Error).message).toMatch(
      new RegExp(
        `^\\[mongo\\] TLS with the server at ${address.replace(/[.[\]]/g, '\\$&')}, database "${database}" \\(connection "secure"\\) failed: the server's certificate is not signed by a CA this connection trusts \\(.+\\): give that CA as tls\\.ca or tls\\.caFile`,
      ),
    );
  });

  it('names a tls file it cannot read, when the flow opens', async () => {
    const error = await openError(server, { caFile: join(dir, 'missing.pem') });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^\[ferry\] mongo .*\(connection "secure"\): tls\.caFile ".*missing\.pem" cannot be read \(ENOENT\)$/,
    );
  });

  it('sends a client certificate to a server that asks for one, and says what is missing without it', async () => {
    if (!asking.asksClientCertificate) return; // MONGO_TLS_URL given without a client certificate: nothing to ask.
    const collection = uniqueName('tls.client');
    const sink = createMongoSink(options(asking, collection, asking.tls));
    await sink.open();
    await sink.write(sampleRecords(3, 'client'));
    await sink.close();
    const client = await driver(asking);
    try {
      expect(await client.db(database).collection(collection).countDocuments()).toBe(3);
      await client.db(database).dropDatabase();
    } finally {
      await client.close();
    }
    const error = await openError(asking, { caFile: asking.tls.caFile });
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      /\(connection "secure"\) failed: the server refused the client certificate or wants one \(.+\): give tls\.cert and tls\.key/,
    );
  });
});

describe.skipIf(skipReason === undefined)('mongo over TLS (skipped)', () => {
  it.skip(`does not run: ${skipReason}`, () => undefined);
});
