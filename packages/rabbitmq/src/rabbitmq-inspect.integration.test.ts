import type { Inspector } from '@ferry/core';
import { tcpRelay, uniqueName, unusedPort } from '@ferry/testkit';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { rabbitMqConnector } from './index.js';
import { admin, amqpUrl, closeAdmin, closeConnections, deleteQueues, publish } from './test-admin.js';

const inspectors: Inspector[] = [];
const queues: string[] = [];
const clientName = `ferry:inspect-test-${process.pid}`;
const settings = { timeoutMs: 3000, clientName };

const inspector = (url = amqpUrl): Inspector => {
  const opened = rabbitMqConnector.inspect!({ kind: 'rabbitmq', url }, settings);
  inspectors.push(opened);
  return opened;
};
const queue = async (): Promise<string> => {
  const name = uniqueName('ferry.test.q.inspect');
  queues.push(name);
  await (await admin()).assertQueue(name, { durable: true });
  return name;
};
/** The test broker's URL with its host and port changed. */
const at = (host: string): string => {
  const url = new URL(amqpUrl);
  url.host = host;
  return url.toString();
};

afterAll(async () => {
  await Promise.all(inspectors.map((i) => i.close()));
  await deleteQueues(...queues);
  await closeAdmin();
});

describe('rabbitmq inspect', () => {
  it("probes the broker: its version, logged in under the inspector's connection name", async () => {
    const model = await amqp.connect(amqpUrl);
    const version = model.connection.serverProperties.version;
    await model.close();
    const probe = inspector();
    expect(await probe.probe()).toEqual({ version, detail: 'reachable, logged in' });
    expect(probe.latest).toBeUndefined();
    // The broker closes it, as an operator would: the next question opens another.
    expect(await closeConnections(clientName)).toBe(1);
    await expect
      .poll(() =>
        probe.probe().then(
          (found) => found.detail,
          (error: Error) => error.message,
        ),
      )
      .toBe('reachable, logged in');
  });

  it('says credentials refused for a wrong password, unreachable for a port nothing listens on', async () => {
    const wrong = new URL(amqpUrl);
    wrong.password = 'wrong';
    await expect(inspector(wrong.toString()).probe()).rejects.toThrow(
      /^credentials refused: Handshake terminated by server: 403 \(ACCESS-REFUSED\)/,
    );
    await expect(inspector(at(`127.0.0.1:${await unusedPort()}`)).probe()).rejects.toThrow(
      /^unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
  });

  it('forgets a failed connect: the next question connects again', async () => {
    const port = await unusedPort();
    const probe = inspector(at(`127.0.0.1:${port}`));
    await expect(probe.probe()).rejects.toThrow(/^unreachable: /);
    const relay = await tcpRelay(port, Number(new URL(amqpUrl).port || 5672), new URL(amqpUrl).hostname);
    try {
      expect((await probe.probe()).detail).toBe('reachable, logged in');
    } finally {
      await probe.close();
      await relay.close();
    }
  });

  it("counts a queue's messages with a passive declare, for a source's options or a sink's", async () => {
    const name = await queue();
    for (let i = 0; i < 3; i++) await publish(name, `{"n":${i}}`);
    expect((await (await admin()).checkQueue(name)).messageCount).toBe(3);
    const probe = inspector();
    expect(await probe.depth({ kind: 'rabbitmq', url: amqpUrl, queue: name, prefetch: 10 })).toBe(3);
    expect(await probe.depth({ kind: 'rabbitmq', url: amqpUrl, queue: name, maxLen: 100 })).toBe(3);
  });

  it('names a queue that is not there, in the broker words, and goes on with the next question', async () => {
    const name = await queue();
    await publish(name, '{}');
    const missing = `${name}.missing`;
    const probe = inspector();
    await expect(probe.depth({ url: amqpUrl, queue: missing })).rejects.toThrow(
      new RegExp(`^no queue '${missing.replaceAll('.', '\\.')}' in vhost '/'$`),
    );
    // The failed declare spent its own channel only.
    expect(await probe.depth({ url: amqpUrl, queue: name })).toBe(1);
  });

  it('has no depth for an exchange', async () => {
    await expect(inspector().depth({ url: amqpUrl, exchange: 'amq.fanout' })).rejects.toThrow(
      /^an exchange holds no messages$/,
    );
  });
});
