import { execFile } from 'node:child_process';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from 'amqplib';

/** Async on purpose: a synchronous child process would stop the event loop before the driver has sent an ack. */
const run = async (args: string[]): Promise<string> =>
  (await promisify(execFile)('rabbitmqctl', args, { encoding: 'utf8' })).stdout;

/** The broker the tests use: `AMQP_URL`, else the standard local port with guest/guest. */
export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let model: ChannelModel | undefined;
let channel: Channel | undefined;
let confirm: ConfirmChannel | undefined;

/** A channel for the tests' own checks, opened again when a failed check closed it. */
export async function admin(): Promise<Channel> {
  if (model === undefined) {
    model = await amqp.connect(amqpUrl);
    model.on('error', () => undefined);
  }
  if (channel === undefined) {
    const created = await model.createChannel();
    created.on('error', () => undefined);
    created.on('close', () => {
      if (channel === created) channel = undefined;
    });
    channel = created;
  }
  return channel;
}

export async function closeAdmin(): Promise<void> {
  const current = model;
  model = undefined;
  channel = undefined;
  confirm = undefined;
  await current?.close().catch(() => undefined);
}

/** Publishes and waits for the broker's confirm, so that a source opened next finds the message. */
export async function publish(queue: string, body: Buffer | string, options: Options.Publish = {}): Promise<void> {
  const m = await adminModel();
  if (confirm === undefined) {
    const created = await m.createConfirmChannel();
    created.on('error', () => undefined);
    created.on('close', () => {
      if (confirm === created) confirm = undefined;
    });
    confirm = created;
  }
  confirm.sendToQueue(queue, typeof body === 'string' ? Buffer.from(body) : body, { persistent: true, ...options });
  await confirm.waitForConfirms();
}

/** Takes every message off the queue (acked): what a sink wrote, oldest first. */
export async function drainQueue(queue: string): Promise<GetMessage[]> {
  const ch = await admin();
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await ch.get(queue, { noAck: true });
    if (message === false) return messages;
    messages.push(message);
  }
}

/** Reads every message and puts them all back, in order. */
export async function peekQueue(queue: string): Promise<GetMessage[]> {
  const ch = await (await adminModel()).createChannel();
  const messages: GetMessage[] = [];
  try {
    for (;;) {
      const message = await ch.get(queue, { noAck: false });
      if (message === false) break;
      messages.push(message);
    }
  } finally {
    await ch.close();
  }
  return messages;
}

async function adminModel(): Promise<ChannelModel> {
  await admin();
  return model!;
}

/** Ready plus unacknowledged messages, as the broker counts them. */
export async function countMessages(queue: string): Promise<number> {
  const out = await run(['list_queues', '-q', '--no-table-headers', 'name', 'messages']);
  for (const line of out.split('\n')) {
    const [name, messages] = line.split('\t');
    if (name === queue) return Number(messages);
  }
  return 0;
}

export async function deleteQueues(...queues: string[]): Promise<void> {
  for (const queue of queues) await (await admin()).deleteQueue(queue);
}

/** Closes the connections with this client-provided name, as an operator would (and no one else's). */
export async function closeConnections(connectionName: string): Promise<number> {
  const out = await run(['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
  let closed = 0;
  for (const line of out.split('\n')) {
    if (!line.includes(`"${connectionName}"`)) continue;
    const pid = line.split('\t')[0]!;
    await run(['close_connection', pid, 'test']);
    closed += 1;
  }
  return closed;
}

/** A TCP relay to the broker that can stop taking what clients send, as a congested network would. */
export interface StallingRelay {
  /** The broker's URL through the relay. */
  readonly url: string;
  /** Stops reading from the clients: what they send piles up in their own buffers. */
  stall(): void;
  /** Reads from the clients again. */
  resume(): void;
  close(): Promise<void>;
}

export async function stallingRelay(): Promise<StallingRelay> {
  const broker = new URL(amqpUrl);
  const clients = new Set<Socket>();
  let stalled = false;
  const server = createServer((client) => {
    clients.add(client);
    const upstream = tcpConnect(Number(broker.port || 5672), broker.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) client.pause();
    const end = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(amqpUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    stall() {
      stalled = true;
      for (const client of clients) client.pause();
    },
    resume() {
      stalled = false;
      // pipe() paused by hand is resumed by hand; pipe() then takes over its flow again.
      for (const client of clients) client.resume();
    },
    async close() {
      for (const client of clients) client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
