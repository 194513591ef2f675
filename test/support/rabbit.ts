import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';

const host = process.env.FERRY_RABBITMQ_HOST ?? '127.0.0.1:5672';

function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', timeout: 60_000 });
}

/**
 * A virtual host of its own for a test file: its queues cannot meet another
 * run's, and closing "all connections" of it touches no other test.
 */
export class TestVhost {
  readonly name = `ferry-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly url = `amqp://guest:guest@${host}/${encodeURIComponent(this.name)}`;
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;

  async setUp(): Promise<void> {
    rabbitmqctl('add_vhost', this.name);
    rabbitmqctl('set_permissions', '-p', this.name, 'guest', '.*', '.*', '.*');
    await this.#connect();
  }

  async #connect(): Promise<void> {
    this.#connection = await amqp.connect(this.url);
    // The test's own connection is closed with the others by closeAllConnections.
    this.#connection.on('error', () => undefined);
    this.#channel = await this.#connection.createConfirmChannel();
    this.#channel.on('error', () => undefined);
  }

  get channel(): ConfirmChannel {
    if (this.#channel === undefined) throw new Error('TestVhost.setUp() first');
    return this.#channel;
  }

  /** As an operator would: the broker closes every client connection of this vhost (the test's own too). */
  async closeAllConnections(): Promise<void> {
    await promisify(execFile)(
      'rabbitmqctl',
      ['-q', 'close_all_connections', '--vhost', this.name, 'e2e: connections closed by the operator'],
      { timeout: 60_000 },
    );
    await this.#connect();
  }

  /** Declares the queue (durable, with the given arguments) and publishes persistent messages to it, confirmed. */
  async publish(
    queue: string,
    bodies: readonly (string | Buffer)[],
    ids?: readonly string[],
    queueArguments: Record<string, unknown> = {},
  ): Promise<void> {
    await this.channel.assertQueue(queue, { durable: true, arguments: queueArguments });
    bodies.forEach((body, i) => {
      this.channel.sendToQueue(queue, Buffer.isBuffer(body) ? body : Buffer.from(body), {
        persistent: true,
        contentType: 'application/json',
        ...(ids?.[i] === undefined ? {} : { messageId: ids[i] }),
      });
    });
    await this.channel.waitForConfirms();
  }

  async count(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Takes every message off a queue, acking it: its bodies (parsed) and message ids. */
  async drain(queue: string): Promise<{ body: unknown; messageId: string | undefined; headers: unknown }[]> {
    const out: { body: unknown; messageId: string | undefined; headers: unknown }[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message === false) return out;
      out.push({
        body: JSON.parse(message.content.toString()),
        messageId: message.properties.messageId as string | undefined,
        headers: message.properties.headers,
      });
    }
  }

  async tearDown(): Promise<void> {
    await this.#connection?.close().catch(() => undefined);
    rabbitmqctl('delete_vhost', this.name);
  }
}
