import { uniqueName } from '@ferry/testkit';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';

/** The NATS server the tests use: `NATS_URL`, else the standard local port. */
export const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

interface Admin {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

let opened: Promise<Admin> | undefined;

/** The tests' own client, to set up and read back without going through ferry. */
export function admin(): Promise<Admin> {
  opened ??= (async () => {
    const url = new URL(natsUrl);
    const nc = await connect({ servers: `${url.hostname}:${url.port || 4222}`, name: 'ferry-test-admin' });
    return { nc, jsm: await jetstreamManager(nc), js: jetstream(nc) };
  })();
  return opened;
}

export async function closeAdmin(): Promise<void> {
  const pending = opened;
  opened = undefined;
  if (pending !== undefined) await (await pending).nc.close();
}

/** A stream name no other test or run uses (stream names have no dots). */
export function streamName(prefix = 'ferry_test_n'): string {
  return uniqueName(prefix).replaceAll('.', '_');
}

/** The subject a test stream takes. */
export function subjectOf(stream: string): string {
  return `ferry.test.${stream}`;
}

export async function createStream(stream: string, config: Partial<StreamConfig> = {}): Promise<void> {
  const { jsm } = await admin();
  await jsm.streams.add({ name: stream, subjects: [subjectOf(stream)], ...config });
}

/** Creates the stream unless it is there (the contract suites seed and create in either order). */
export async function ensureStream(stream: string, config: Partial<StreamConfig> = {}): Promise<void> {
  const { jsm } = await admin();
  try {
    await jsm.streams.info(stream);
  } catch {
    await createStream(stream, config);
  }
}

export async function deleteStreams(...streams: string[]): Promise<void> {
  const { jsm } = await admin();
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
}

/** Publishes one message with the client itself, as a producer outside ferry would. */
export async function publish(
  stream: string,
  body: string | Uint8Array,
  options: { msgId?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  const { js } = await admin();
  const headers = natsHeaders();
  for (const [key, value] of Object.entries(options.headers ?? {})) headers.set(key, value);
  const ack = await js.publish(subjectOf(stream), body, {
    ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
    headers,
  });
  return ack.seq;
}

/** Every message the stream holds, oldest first, read by sequence. */
export async function storedMessages(stream: string): Promise<StoredMsg[]> {
  const { jsm } = await admin();
  const { state } = await jsm.streams.info(stream);
  const messages: StoredMsg[] = [];
  if (state.messages === 0) return messages;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message !== null) messages.push(message);
  }
  return messages;
}

export async function messageCount(stream: string): Promise<number> {
  const { jsm } = await admin();
  return (await jsm.streams.info(stream)).state.messages;
}

/** What a consumer has not had acked: not yet delivered, or delivered and unacked. */
export async function unacked(stream: string, consumer = 'ferry'): Promise<number> {
  const { jsm } = await admin();
  const info = await jsm.consumers.info(stream, consumer);
  return info.num_pending + info.num_ack_pending;
}
