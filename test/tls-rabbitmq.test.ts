import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeTestCertificates,
  startTlsRabbitMq,
  startTlsRedis,
  type TestCertificates,
  type TestServerProcess,
} from '@ferry/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry } from './support/cli.js';

let certs: TestCertificates;
let redis: TestServerProcess;
/** A second broker, with one listener: AMQP over TLS, asking for a client certificate it verifies. */
let rabbit: TestServerProcess;
let admin: Redis;
let model: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-e2e-tls-q-')));
  [redis, rabbit] = await Promise.all([startTlsRedis(certs), startTlsRabbitMq(certs)]);
  admin = new Redis(`rediss://127.0.0.1:${redis.port}`, { tls: { ca: certs.ca } });
  model = await amqp.connect(`amqps://guest:guest@127.0.0.1:${rabbit.port}`, {
    ca: certs.ca,
    cert: certs.clientCert,
    key: certs.clientKey,
  });
  channel = await model.createChannel();
}, 120_000);

afterAll(async () => {
  await model?.close();
  admin?.disconnect();
  await Promise.all([redis?.stop(), rabbit?.stop()]);
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});

/** Both connections trust the test CA from files; RabbitMQ is shown the client certificate. */
function config(queue: string): string {
  const rabbitTls = `{ caFile: "${certs.caFile}", certFile: "${certs.clientCertFile}", keyFile: "${certs.clientKeyFile}" }`;
  return configFile(
    [
      'connections:',
      `  redis: { kind: redis-stream, url: "rediss://127.0.0.1:${redis.port}", tls: { caFile: "${certs.caFile}" } }`,
      `  rabbit: { kind: rabbitmq, url: "amqps://guest:guest@127.0.0.1:${rabbit.port}", tls: ${rabbitTls} }`,
      'flows:',
      `  s2q: { source: { connection: redis, stream: ${queue}.in }, sink: { connection: rabbit, queue: ${queue} } }`,
      `  q2s: { source: { connection: rabbit, queue: ${queue} }, sink: { connection: redis, stream: ${queue}.back } }`,
    ].join('\n'),
  );
}

describe('RabbitMQ over TLS from a config file', () => {
  it('moves records from Redis to a broker that verifies the client certificate, and back, over TLS', async () => {
    const queue = `ferry_tls_${randomBytes(4).toString('hex')}`;
    await channel.assertQueue(queue, { durable: true });
    for (let n = 0; n < 5; n++) await admin.xadd(`${queue}.in`, '*', 'n', String(n), 'text', 'grüße');
    const file = config(queue);

    const out = await ferry(['run', file, 's2q']);
    expect(out.code, out.stderr).toBe(0);
    expect((await channel.checkQueue(queue)).messageCount).toBe(5);
    expect(await admin.xlen(`${queue}.in`)).toBe(0);

    const back = await ferry(['run', file, 'q2s']);
    expect(back.code, back.stderr).toBe(0);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    const entries = await admin.xrange(`${queue}.back`, '-', '+');
    expect(entries.map(([, fields]) => fields.slice(0, 4))).toEqual(
      [0, 1, 2, 3, 4].map((n) => ['n', String(n), 'text', 'grüße']),
    );
  });
});
