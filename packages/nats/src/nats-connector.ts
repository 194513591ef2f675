import type { ConnectorDefinition, EndpointDescription } from '@ferry/core';
import {
  natsSinkOptionsSchema,
  natsSourceOptionsSchema,
  natsTarget,
  parseSinkOptions,
  parseSourceOptions,
} from './nats-config.js';
import { inspectNats } from './nats-inspect.js';
import { createNatsSink } from './nats-sink.js';
import { createNatsSource } from './nats-source.js';
import { natsTypes } from './nats-types.js';

function describeEndpoint(role: 'source' | 'sink', options: unknown): EndpointDescription {
  if (role === 'sink') return { what: 'stream', name: parseSinkOptions(options).stream, singleReader: false };
  // Readers of one durable consumer compete: the server hands each message to one of them.
  const { stream, consumer } = parseSourceOptions(options);
  return { what: 'stream', name: stream, singleReader: false, readerGroup: consumer };
}

/** NATS JetStream, letter N: a stream read through a durable pull consumer, written with Nats-Msg-Id. */
export const natsConnector: ConnectorDefinition = {
  kind: 'nats',
  letter: 'N',
  title: 'NATS JetStream',
  // tls:// URLs are taken too, but the scheme says nothing of NATS: a CLI URL names nats:// only.
  schemes: ['nats:'],
  holds: 'stream',
  options: { source: natsSourceOptionsSchema, sink: natsSinkOptionsSchema },
  dataPlaneKeys: {
    // ackWaitMs is not here: it changes an existing consumer, which other readers share.
    source: ['stream', 'consumer', 'filterSubject', 'codec', 'maxDeliveries'],
    sink: ['stream', 'subject', 'codec', 'maxLen'],
  },
  createSource: createNatsSource,
  createSink: createNatsSink,
  target: natsTarget,
  describeEndpoint,
  inspect: inspectNats,
  types: natsTypes,
  bench: () => import('./nats-bench-end.js').then((m) => m.openNatsBenchEnd),
  testing: () => import('./nats-test-end.js').then((m) => m.openNatsTestEnd),
};
