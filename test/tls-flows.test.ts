import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeTestCertificates,
  startTlsNats,
  startTlsRedis,
  type TestCertificates,
  type TestServerProcess,
} from '@ferry/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry } from './support/cli.js';

let certs: TestCertificates;
/** Redis asks for a client certificate and refuses a client without one; NATS does not ask. */
let redis: TestServerProcess;
let nats: TestServerProcess;
let admin: Redis;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-e2e-tls-')));
  [redis, nats] = await Promise.all([startTlsRedis(certs, 'yes'), startTlsNats(certs)]);
  admin = new Redis(`rediss://127.0.0.1:${redis.port}`, {
    tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
  });
  nc = await connect({ servers: `127.0.0.1:${nats.port}`, tls: { ca: certs.ca } });
  jsm = await jetstreamManager(nc);
}, 30_000);

afterAll(async () => {
  admin?.disconnect();
  await nc?.close();
  await Promise.all([redis?.stop(), nats?.stop()]);
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});

/** A config whose connections trust the test CA from files, Redis with the client certificate. */
function config(stream: string, natsCa = certs.caFile): string {
  const redisTls = `{ caFile: "${certs.caFile}", certFile: "${certs.clientCertFile}", keyFile: "${certs.clientKeyFile}" }`;
  return configFile(
    [
      'connections:',
      `  redis: { kind: redis-stream, url: "rediss://127.0.0.1:${redis.port}", tls: ${redisTls} }`,
      `  nats: { kind: nats, url: "tls://127.0.0.1:${nats.port}", tls: { caFile: "${natsCa}" } }`,
      'flows:',
      `  s2n: { source: { connection: redis, stream: tls.in }, sink: { connection: nats, stream: ${stream} } }`,
      `  n2s: { source: { connection: nats, stream: ${stream} }, sink: { connection: redis, stream: tls.back } }`,
    ].join('\n'),
  );
}

describe('flows over TLS from a config file', () => {
  it('moves records from a Redis that wants a client certificate to NATS over TLS, and back', async () => {
    const stream = `ferry_tls_${randomBytes(4).toString('hex')}`;
    await jsm.streams.add({ name: stream, subjects: [`ferry.tls.${stream}`] });
    for (let n = 0; n < 5; n++) await admin.xadd('tls.in', '*', 'n', String(n), 'text', 'grüße');
    const file = config(stream);

    const out = await ferry(['run', file, 's2n']);
    expect(out.code, out.stderr).toBe(0);
    expect((await jsm.streams.info(stream)).state.messages).toBe(5);
    const first = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(first?.json()).toMatchObject({ n: '0', text: 'grüße' });
    expect(await admin.xlen('tls.in')).toBe(0);

    const back = await ferry(['run', file, 'n2s']);
    expect(back.code, back.stderr).toBe(0);
    const entries = await admin.xrange('tls.back', '-', '+');
    expect(entries.map(([, fields]) => fields.slice(0, 4))).toEqual(
      [0, 1, 2, 3, 4].map((n) => ['n', String(n), 'text', 'grüße']),
    );
  });

  it('ferry doctor reaches both servers over TLS', async () => {
    const run = await ferry(['doctor', config('ferry_tls_none')]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('ok: 2 connections answer');
  });

  it('stops at once, naming the connection and the certificate, when the server is not trusted', async () => {
    const run = await ferry(['run', config('ferry_tls_none', certs.strangerCaFile), 'n2s']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /\[nats\] cannot connect to 127\.0\.0\.1:\d+ \(connection "nats"\) over TLS: the server's certificate is not signed by a CA this connection trusts/,
    );
    expect(run.ms).toBeLessThan(10_000);
  });
});
