import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ferry/core';
import {
  makeTestCertificates,
  sampleRecords,
  startTlsRedis,
  type TestCertificates,
  type TestServerProcess,
  uniqueName,
} from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamSink, createRedisStreamSource, decodeFields } from './index.js';

let certs: TestCertificates;
/** Asks for no client certificate; `strict` refuses a client without one. */
let open: TestServerProcess;
let strict: TestServerProcess;
let admin: Redis;

const urlOf = (server: TestServerProcess) => `rediss://127.0.0.1:${server.port}`;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-redis-tls-')));
  [open, strict] = await Promise.all([startTlsRedis(certs), startTlsRedis(certs, 'yes')]);
  admin = new Redis(urlOf(open), { tls: { ca: certs.ca } });
  await admin.ping();
}, 30_000);

afterAll(async () => {
  admin?.disconnect();
  await Promise.all([open?.stop(), strict?.stop()]);
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});

describe('redis-stream over TLS', () => {
  it('writes a stream and reads it back, trusting the CA given as a file or inline', async () => {
    const stream = uniqueName('ferry.test.tls');
    const sink = createRedisStreamSink({ url: urlOf(open), stream, tls: { caFile: certs.caFile } });
    await sink.open();
    await sink.write(sampleRecords(3, 'tls'));
    await sink.close();
    const entries = await admin.xrange(stream, '-', '+');
    expect(entries.map(([, fields]) => decodeFields(fields).tag)).toEqual(['tls-0', 'tls-1', 'tls-2']);

    const source = createRedisStreamSource({ url: urlOf(open), stream, tls: { ca: certs.ca } });
    await source.open();
    const batch = await source.read(10, { waitMs: 0 });
    expect(batch.records.map((record) => record.value.tag)).toEqual(['tls-0', 'tls-1', 'tls-2']);
    await source.ack(batch);
    await source.close();
    expect(await admin.xlen(stream)).toBe(0);
  });

  it('refuses a server whose certificate no trusted CA signed, naming the connection', async () => {
    for (const tls of [{ ca: certs.strangerCa }, undefined]) {
      const sink = createRedisStreamSink({ url: urlOf(open), stream: 's', tls, connectionName: 'secure' });
      const error = await sink.open().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      await sink.close();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        /^\[redis-stream\] cannot connect to 127\.0\.0\.1:\d+ \(connection "secure"\) over TLS: the server's certificate is not signed by a CA this connection trusts/,
      );
    }
  });

  it('shows a client certificate to a server that asks for one, and is refused without', async () => {
    const stream = uniqueName('ferry.test.tls');
    const tls = { ca: certs.ca, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
    const sink = createRedisStreamSink({ url: urlOf(strict), stream, tls });
    await sink.open();
    await sink.write(sampleRecords(2, 'cert'));
    await sink.close();
    const reader = new Redis(urlOf(strict), { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    expect(await reader.xlen(stream)).toBe(2);
    reader.disconnect();

    const bare = createRedisStreamSink({ url: urlOf(strict), stream, tls: { ca: certs.ca }, connectionName: 'secure' });
    await expect(bare.open()).rejects.toThrow(/\(connection "secure"\).*give tls\.cert and tls\.key/);
    await bare.close();
  });
});
