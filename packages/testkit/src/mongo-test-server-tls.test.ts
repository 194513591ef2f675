import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, type TestCertificates } from './certificates.js';
import { type MongoTestServer, startMongoTestServer } from './mongo-test-server.js';

let dir: string;
let certs: TestCertificates;
let server: MongoTestServer;
let asking: MongoTestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-mongo-tls-'));
  certs = await makeTestCertificates(dir);
  const tls = { cert: await readFile(certs.serverCertFile, 'utf8'), key: await readFile(certs.serverKeyFile, 'utf8') };
  server = await startMongoTestServer({ tls });
  asking = await startMongoTestServer({ tls: { ...tls, ca: certs.ca } });
}, 30_000);
afterAll(async () => {
  await server?.close();
  await asking?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Pings through a fresh driver client; the driver's error message when it cannot. */
async function ping(url: string, options: MongoClientOptions): Promise<string> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, ...options });
  try {
    await client.connect();
    const reply = await client.db('admin').command({ ping: 1 });
    return `ok ${reply.ok}`;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.close();
  }
}

describe('the MongoDB test server in TLS mode', () => {
  it('says tls=true in its url and answers a driver that trusts its CA', async () => {
    expect(server.url).toBe(`mongodb://127.0.0.1:${server.port}/?tls=true`);
    expect(await ping(server.url, { ca: certs.ca })).toBe('ok 1');
  });

  it('is refused by a driver that trusts another CA, and answers no plain connection', async () => {
    expect(await ping(server.url, { ca: certs.strangerCa })).toMatch(/certificate/);
    expect(await ping(`mongodb://127.0.0.1:${server.port}`, {})).not.toBe('ok 1');
  });

  it('given a CA, asks for a client certificate and refuses a client without one', async () => {
    const client = { cert: certs.clientCert, key: certs.clientKey };
    expect(await ping(asking.url, { ca: certs.ca, ...client })).toBe('ok 1');
    expect(await ping(asking.url, { ca: certs.ca })).not.toBe('ok 1');
  });
});
