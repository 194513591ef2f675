import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, toJson } from '@ferry/core';
import {
  makeTestCertificates,
  sampleRecords,
  startTlsRabbitMq,
  type TestCertificates,
  type TestServerProcess,
  uniqueName,
} from '@ferry/testkit';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRabbitMqSink, createRabbitMqSource } from './index.js';

let certs: TestCertificates;
/** One node for the file: it asks for a client certificate and takes a client without one. */
let broker: TestServerProcess;
let model: ChannelModel;
let channel: Channel;

const url = () => `amqps://guest:guest@127.0.0.1:${broker.port}`;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-rabbitmq-tls-')));
  broker = await startTlsRabbitMq(certs);
  model = await amqp.connect(url(), { ca: certs.ca });
  channel = await model.createChannel();
}, 120_000);

afterAll(async () => {
  await model?.close().catch(() => undefined);
  await broker?.stop();
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
}, 30_000);

async function failure(run: () => Promise<unknown>): Promise<Error> {
  return run().then(
    () => new Error('it did not fail'),
    (error: Error) => error,
  );
}

describe('rabbitmq over TLS', () => {
  it('publishes to a queue and reads one, trusting the CA given as a file or inline', async () => {
    const queue = uniqueName('ferry.test.tls');
    const sink = createRabbitMqSink({ url: url(), queue, declare: true, tls: { caFile: certs.caFile } });
    await sink.open();
    await sink.write(sampleRecords(3, 'tls'));
    await sink.close();
    const bodies: unknown[] = [];
    for (let message = await channel.get(queue); message !== false; message = await channel.get(queue)) {
      bodies.push(JSON.parse(message.content.toString()).tag);
      channel.ack(message);
    }
    expect(bodies).toEqual(['tls-0', 'tls-1', 'tls-2']);

    for (const [n, tag] of ['in-0', 'in-1'].entries()) {
      const body = Buffer.from(toJson({ tag }).text);
      channel.sendToQueue(queue, body, { messageId: `m-${n}`, contentType: 'application/json', persistent: true });
    }
    const source = createRabbitMqSource({ url: url(), queue, tls: { ca: certs.ca } });
    await source.open();
    const batch = await source.read(10, { waitMs: 2000 });
    expect(batch.records.map((record) => [record.id, record.value.tag])).toEqual([
      ['m-0', 'in-0'],
      ['m-1', 'in-1'],
    ]);
    await source.ack(batch);
    await source.close();
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    await channel.deleteQueue(queue);
  });

  it('refuses a broker whose certificate no trusted CA signed, naming the connection', async () => {
    for (const tls of [{ ca: certs.strangerCa }, undefined]) {
      const sink = createRabbitMqSink({ url: url(), queue: 'q', tls, connectionName: 'secure' });
      const error = await failure(() => sink.open());
      await sink.close();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(
        /^\[rabbitmq\] cannot connect to 127\.0\.0\.1:\d+, vhost "\/" \(connection "secure"\) over TLS: the server's certificate is not signed by a CA this connection trusts/,
      );
    }
  });

  it('shows a client certificate to a broker that asks for one, which refuses one it cannot verify', async () => {
    const queue = uniqueName('ferry.test.tls');
    const tls = { ca: certs.ca, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
    const sink = createRabbitMqSink({ url: url(), queue, declare: true, tls });
    await sink.open();
    await sink.write(sampleRecords(2, 'cert'));
    await sink.close();
    expect((await channel.checkQueue(queue)).messageCount).toBe(2);
    await channel.deleteQueue(queue);

    const stranger = { certFile: certs.strangerCaFile, keyFile: join(certs.dir, 'stranger.key') };
    const refused = createRabbitMqSink({
      url: url(),
      queue,
      tls: { ca: certs.ca, ...stranger },
      connectionName: 'secure',
    });
    const error = await failure(() => refused.open());
    await refused.close();
    expect(error.message).toMatch(/\(connection "secure"\).*certificate/);
  });
});
