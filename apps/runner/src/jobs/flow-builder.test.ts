import {
  ConfigError,
  type ConnectorDefinition,
  type FerryConfigInput,
  parseConfig,
  type Sink,
  type Source,
} from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry } from '../connectors.js';
import { buildFlow, buildPlanned, planFlow, validateConfig } from './flow-builder.js';
import { endpointOptions } from './flow-endpoints.js';

/** A connector that records the options it was built with and checks `stream` eagerly, as real ones do. */
function fakeConnector(
  kind = 'redis-stream',
  letter = 'S',
  holds: 'store' | 'stream' = 'stream',
): ConnectorDefinition & { built: { role: string; options: unknown }[] } {
  const built: { role: string; options: unknown }[] = [];
  const check = (options: unknown) => {
    if (typeof (options as { stream?: unknown }).stream !== 'string') {
      throw new ConfigError('[fake] invalid options:\n  - stream: expected string (got nothing)');
    }
  };
  return {
    kind,
    letter,
    title: `fake ${kind}`,
    schemes: [],
    holds,
    options: { source: z.unknown(), sink: z.unknown() },
    dataPlaneKeys: { source: ['stream'], sink: ['stream'] },
    built,
    createSource(options) {
      check(options);
      built.push({ role: 'source', options });
      return { name: 'fake' } as Source;
    },
    createSink(options) {
      check(options);
      built.push({ role: 'sink', options });
      return { name: 'fake' } as Sink;
    },
    describeEndpoint: (_role, options) => ({
      what: 'stream',
      name: String((options as { stream?: unknown }).stream),
      singleReader: false,
    }),
  };
}

const config = (input: FerryConfigInput) => parseConfig(input, 'test config');

const s2s = config({
  connections: {
    default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
    other: { kind: 'redis-stream', url: 'redis://10.0.0.2:6379', extra: 1 },
  },
  flows: {
    demo: {
      source: { stream: 'in', mode: 'range' },
      sink: { connection: 'other', stream: 'out', maxLen: 100 },
      batchSize: 10,
    },
  },
});

describe('buildFlow', () => {
  it('merges the connection (without kind) with the endpoint (without connection) and names the connection', () => {
    const connector = fakeConnector();
    const flow = buildFlow(s2s, 'demo', createRegistry([connector]));
    expect(flow.name).toBe('demo');
    expect(flow.edge.name).toBe('S2S');
    expect(flow.spec.batchSize).toBe(10);
    expect(connector.built).toEqual([
      {
        role: 'source',
        options: { url: 'redis://127.0.0.1:6379', stream: 'in', mode: 'range', connectionName: 'default' },
      },
      {
        role: 'sink',
        options: { url: 'redis://10.0.0.2:6379', extra: 1, stream: 'out', maxLen: 100, connectionName: 'other' },
      },
    ]);
    expect(endpointOptions(s2s, { connection: 'default', stream: 'x' })).toEqual({
      kind: 'redis-stream',
      options: { url: 'redis://127.0.0.1:6379', stream: 'x', connectionName: 'default' },
    });
  });

  it('names a flow that is not in the config', () => {
    expect(() => buildFlow(s2s, 'nope', createRegistry([fakeConnector()]))).toThrow(
      /no flow named "nope"; the config names "demo"/,
    );
  });

  it('names the flow and the role when a connector refuses its options', () => {
    const bad = config({
      connections: { default: { kind: 'redis-stream', url: 'redis://h' } },
      flows: { f: { source: { stream: 'a' }, sink: { streem: 'b' } } },
    });
    expect(() => buildFlow(bad, 'f', createRegistry([fakeConnector()]))).toThrow(
      /^\[ferry\] flow "f", sink: \[fake\] invalid options:\n {2}- stream/,
    );
  });

  it('refuses M2C with the reason and what to do instead', () => {
    const m2c = config({
      connections: {
        mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017', database: 'app' },
        ch: { kind: 'clickhouse', url: 'http://127.0.0.1:8123' },
      },
      flows: { copy: { source: { connection: 'mongo', collection: 'a' }, sink: { connection: 'ch', table: 'b' } } },
    });
    const run = () => buildFlow(m2c, 'copy', createRegistry());
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      '[ferry] flow "copy": edge M2C is not permitted: MongoDB and ClickHouse are both stores and do not exchange data directly; move the data through a queue instead: M2S then S2C, or M2Q then Q2C',
    );
  });

  it('says when no connector is registered for a kind, and which are', () => {
    const s2q = config({
      connections: {
        default: { kind: 'redis-stream', url: 'redis://h' },
        rabbit: { kind: 'rabbitmq', url: 'amqp://h' },
      },
      flows: { f: { source: { stream: 'a' }, sink: { connection: 'rabbit', queue: 'q' } } },
    });
    expect(() => buildFlow(s2q, 'f', createRegistry([fakeConnector()]))).toThrow(
      /^\[ferry\] flow "f": unknown connection kind "rabbitmq": expected one of redis-stream \(a plug-in adds others/,
    );
  });
});

describe('planFlow and buildPlanned', () => {
  /** The fake, whose group readers are named by a `consumer` option unless the source names one. */
  const namingConnector = () => {
    const connector = fakeConnector();
    return {
      ...connector,
      describeEndpoint: (role: string, options: unknown) => ({
        what: 'stream',
        name: String((options as { stream?: unknown }).stream),
        singleReader: false,
        ...(role === 'source' && (options as { consumer?: unknown }).consumer === undefined
          ? { readerOption: 'consumer' }
          : {}),
      }),
    };
  };

  it('resolves and checks a flow once; each pump is built from the plan under its reader name', () => {
    const connector = namingConnector();
    const plan = planFlow(s2s, 'demo', createRegistry([connector]));
    expect(plan.edge.name).toBe('S2S');
    expect(plan.reading).toMatchObject({ singleReader: false, readerOption: 'consumer' });
    expect(connector.built.map((b) => b.role)).toEqual(['source', 'sink']);
    const first = buildPlanned(plan, 'ferry:demo:0');
    const second = buildPlanned(plan, 'ferry:demo:1');
    expect((first.spec.source as { consumer?: string }).consumer).toBe('ferry:demo:0');
    expect((second.spec.source as { consumer?: string }).consumer).toBe('ferry:demo:1');
    expect((plan.spec.source as { consumer?: string }).consumer).toBeUndefined();
    expect(connector.built.slice(2).map((b) => [b.role, (b.options as { consumer?: string }).consumer])).toEqual([
      ['source', 'ferry:demo:0'],
      ['sink', undefined],
      ['source', 'ferry:demo:1'],
      ['sink', undefined],
    ]);
    expect(buildPlanned(plan).spec).toBe(plan.spec);
  });

  it('refuses what buildFlow refuses, with the same message', () => {
    const bad = config({
      connections: { default: { kind: 'redis-stream', url: 'redis://h' } },
      flows: { f: { source: { stream: 'a' }, sink: { streem: 'b' } } },
    });
    const registry = createRegistry([namingConnector()]);
    expect(() => planFlow(bad, 'f', registry)).toThrow(/^\[ferry\] flow "f", sink: \[fake\] invalid options:/);
    expect(() => planFlow(s2s, 'nope', registry)).toThrow(/no flow named "nope"/);
  });
});

describe('validateConfig', () => {
  it('lists every problem of every flow, with the edge when known', () => {
    const input = config({
      connections: {
        default: { kind: 'redis-stream', url: 'redis://h' },
        mongo: { kind: 'mongo', url: 'mongodb://h' },
        ch: { kind: 'clickhouse', url: 'http://h' },
        rabbit: { kind: 'rabbitmq', url: 'amqp://h' },
      },
      flows: {
        good: { source: { stream: 'a' }, sink: { stream: 'b' } },
        bad: { source: { stream: 'a' }, sink: { nostream: true }, deadLetter: { stream: 'dlq' } },
        m2c: { source: { connection: 'mongo' }, sink: { connection: 'ch' } },
        s2q: { source: { stream: 'a' }, sink: { connection: 'rabbit' } },
      },
    });
    const registry = createRegistry([
      fakeConnector(),
      fakeConnector('mongo', 'M', 'store'),
      fakeConnector('clickhouse', 'C', 'store'),
    ]);
    const checks = validateConfig(input, registry);
    expect(checks.map((c) => [c.name, c.edge, c.problems.length])).toEqual([
      ['good', 'S2S', 0],
      ['bad', 'S2S', 1],
      ['m2c', 'M2C', 3],
      ['s2q', undefined, 1],
    ]);
    expect(checks[1]!.problems[0]).toMatch(/flow "bad", sink: \[fake\] invalid options/);
    expect(checks[2]!.problems[0]).toMatch(/edge M2C is not permitted/);
    expect(checks[2]!.problems[1]).toMatch(/flow "m2c", source: \[fake\] invalid options/);
    expect(checks[3]!.problems).toEqual([
      expect.stringMatching(/flow "s2q", sink: unknown connection kind "rabbitmq"/),
    ]);
  });
});

describe('createRegistry', () => {
  it('ships the redis-stream, rabbitmq, mongo and clickhouse connectors (and NATS) and refuses unknown kinds', () => {
    const registry = createRegistry();
    expect(registry.kinds().slice(0, 4)).toEqual(['redis-stream', 'rabbitmq', 'mongo', 'clickhouse']);
    expect(registry.get('redis-stream').letter).toBe('S');
    expect(registry.get('rabbitmq').letter).toBe('Q');
    expect(registry.get('clickhouse').letter).toBe('C');
    expect(registry.get('mongo').letter).toBe('M');
    expect(() => registry.get('kafka')).toThrow(/unknown connection kind "kafka"/);
    expect(() => createRegistry([fakeConnector(), fakeConnector()])).toThrow(/two connectors/);
    expect(() => createRegistry([fakeConnector(), fakeConnector('other', 'S')])).toThrow(/letter S is already/);
  });

  it('builds a real redis-stream flow without connecting, and its options errors name the field', () => {
    const good = config({
      connections: { default: { kind: 'redis-stream', url: 'redis://127.0.0.1:1' } },
      flows: { f: { source: { stream: 'a', mode: 'range' }, sink: { stream: 'b', maxLen: 10 } } },
    });
    const flow = buildFlow(good, 'f', createRegistry());
    expect(flow.source.name).toMatch(/redis-stream/);
    const bad = config({
      connections: { default: { kind: 'redis-stream', url: 'redis://h' } },
      flows: { f: { source: { stream: 'a', mode: 'sideways' }, sink: { stream: 'b' } } },
    });
    expect(() => buildFlow(bad, 'f', createRegistry())).toThrow(/flow "f", source: .*\n.*mode.*"sideways"/);
  });
});
