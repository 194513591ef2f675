import {
  type DeadLetterSummary,
  describeError,
  fromJson,
  type Inspector,
  type InspectSettings,
  isValueObject,
  type ProbeResult,
  parseJsonTypes,
  typesHeader,
  withTimeout,
} from '@ferry/core';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { AuthorizationError, type NatsConnection, UserAuthenticationExpiredError } from '@nats-io/transport-node';
import { apiCode, apiCodes, closeQuietly, NatsClient } from './nats-client.js';
import { msgIdHeader } from './nats-codec.js';
import {
  natsSinkOptionsSchema,
  natsSourceOptionsSchema,
  parseConnectionOptions,
  parseSinkOptions,
  subjectMatches,
} from './nats-config.js';

/** How many sequences `latest` looks at per dead letter it wants, at most: deleted ones and other subjects are skipped. */
const lookupsPerLetter = 4;

/** An endpoint's stream, its consumer when the options are a source's, and its subject when a sink's. */
function endpointOf(options: unknown): { stream: string; consumer?: string; subject?: string } {
  const source = natsSourceOptionsSchema.safeParse(options);
  if (source.success) return { stream: source.data.stream, consumer: source.data.consumer };
  const sink = natsSinkOptionsSchema.safeParse(options);
  if (sink.success)
    return { stream: sink.data.stream, ...(sink.data.subject === undefined ? {} : { subject: sink.data.subject }) };
  return { stream: parseSinkOptions(options).stream };
}

/** An error in the words an operator acts on. */
function explain(error: unknown): Error {
  const root = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const text = describeError(error);
  if (root instanceof AuthorizationError || root instanceof UserAuthenticationExpiredError) {
    return new Error(`credentials refused: ${text}`, { cause: error });
  }
  if (/cannot reach|no answer|ECONNREFUSED|ENOTFOUND|timeout|timed out/i.test(text)) {
    return new Error(`unreachable: ${text}`, { cause: error });
  }
  return new Error(text.replace(/^\[nats\] /, ''), { cause: error });
}

/** A dead letter as the pump writes it (reason, sourceId, rejectedAt…), from a stored message; undefined when it is not JSON. */
function summaryOf(message: StoredMsg): DeadLetterSummary | undefined {
  const header = (key: string) => (message.header?.has(key) ? message.header.get(key) : undefined);
  let value: unknown;
  try {
    const types = header(typesHeader);
    value = fromJson(Buffer.from(message.data).toString(), types === undefined ? undefined : parseJsonTypes(types));
  } catch {
    return undefined;
  }
  if (!isValueObject(value)) return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const sourceId = text(value.sourceId);
  const at = value.rejectedAt instanceof Date ? value.rejectedAt.toISOString() : text(value.rejectedAt);
  return {
    id: header(msgIdHeader) ?? String(message.seq),
    reason: text(value.reason) ?? '(no reason recorded)',
    ...(sourceId === undefined ? {} : { sourceId }),
    ...(at === undefined ? {} : { at }),
  };
}

/**
 * The runner's questions about one NATS connection, on a client of its own
 * (named as the settings say), opened at the first question and kept.
 */
export function inspectNats(options: unknown, settings: InspectSettings): Inspector {
  const config = parseConnectionOptions(options);
  const client = new NatsClient({ ...config, connectTimeoutMs: settings.timeoutMs }, 'the server');
  let opened: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;

  const connection = () => {
    if (opened === undefined) {
      const pending = (async () => {
        const nc = await client.connect(settings.clientName);
        try {
          return { nc, jsm: await client.manager(nc) };
        } catch (error) {
          await closeQuietly(nc);
          throw error;
        }
      })();
      // A failed connection is not kept: the next question tries again.
      pending.catch(() => {
        if (opened === pending) opened = undefined;
      });
      opened = pending;
    }
    return opened;
  };

  const answer = async <T>(what: string, ask: () => Promise<T>): Promise<T> => {
    try {
      return await withTimeout(
        ask(),
        settings.timeoutMs,
        () => new Error(`${what}: no answer in ${settings.timeoutMs / 1000} s`),
      );
    } catch (error) {
      throw explain(error);
    }
  };

  return {
    probe: () =>
      answer('probe', async (): Promise<ProbeResult> => {
        const { nc } = await connection();
        const version = nc.info?.version;
        return { ...(version === undefined ? {} : { version }), detail: 'reachable, logged in, JetStream enabled' };
      }),

    /** What waits for the endpoint's consumer (undelivered and unacked), or the stream's message count when it has none. */
    depth: (endpoint) =>
      answer('depth', async () => {
        const { stream, consumer } = endpointOf(endpoint);
        const { jsm } = await connection();
        if (consumer !== undefined) {
          try {
            const info = await jsm.consumers.info(stream, consumer);
            return info.num_pending + info.num_ack_pending;
          } catch (error) {
            if (apiCode(error) !== apiCodes.consumerNotFound) throw client.toError(error, 'reading the consumer');
          }
        }
        try {
          return (await jsm.streams.info(stream)).state.messages;
        } catch (error) {
          throw client.toError(error, `reading stream "${stream}"`);
        }
      }),

    /** The newest messages of the stream (on the sink's subject when it names one), read by sequence: no consumer takes them. */
    latest: (endpoint, count) =>
      answer('latest', async () => {
        const { stream, subject } = endpointOf(endpoint);
        const { jsm } = await connection();
        const { state } = await client.call(`reading stream "${stream}"`, () => jsm.streams.info(stream));
        const letters: DeadLetterSummary[] = [];
        const lowest = Math.max(state.first_seq, state.last_seq - count * lookupsPerLetter + 1);
        for (let seq = state.last_seq; seq >= lowest && letters.length < count && state.messages > 0; seq--) {
          const message = await jsm.streams.getMessage(stream, { seq });
          if (message === null || (subject !== undefined && !subjectMatches(subject, message.subject))) continue;
          const summary = summaryOf(message);
          if (summary !== undefined) letters.push(summary);
        }
        return letters;
      }),

    async close() {
      const pending = opened;
      opened = undefined;
      if (pending === undefined) return;
      try {
        await closeQuietly((await pending).nc);
      } catch {
        // It never opened.
      }
    },
  };
}
