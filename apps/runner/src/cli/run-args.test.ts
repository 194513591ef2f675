import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import {
  applyFlowOverrides,
  flowSettingsFromFlags,
  inferKind,
  oneOffConfigInput,
  parseKeyValue,
  type RunFlagValues,
  resolveRunTarget,
  UsageError,
} from './run-args.js';

const registry = createRegistry();

describe('inferKind', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis-stream'],
    ['rediss://h:6380/0', 'redis-stream'],
    ['amqp://guest:guest@h:5672', 'rabbitmq'],
    ['AMQPS://h', 'rabbitmq'],
    ['mongodb://h:27017/app', 'mongo'],
    ['mongodb+srv://cluster.example.net', 'mongo'],
    ['http://127.0.0.1:8123', 'clickhouse'],
    ['https://ch.example.com', 'clickhouse'],
    ['chdb:///var/lib/ferry/chdb', 'clickhouse'],
  ])('%s is %s', (url, kind) => {
    expect(inferKind(url, registry)).toBe(kind);
  });

  it('refuses an unknown scheme, lists the registered ones and names the flag that overrides it', () => {
    expect(() => inferKind('kafka://h:9092', registry, 'source-url')).toThrow(UsageError);
    expect(() => inferKind('kafka://h:9092', registry, 'source-url')).toThrow(
      /--source-url "kafka:\/\/h:9092": expected a URL starting with redis:\/\/, rediss:\/\/, amqp:\/\/, .*https:\/\/, .*or give the kind with --source-kind/,
    );
    expect(() => inferKind('127.0.0.1:6379', registry, 'sink-url')).toThrow(/--sink-kind/);
  });
});

describe('parseKeyValue', () => {
  it('parses the value as JSON when it parses, else keeps the string', () => {
    expect(parseKeyValue('maxLen=100000', 'sink')).toEqual(['maxLen', 100000]);
    expect(parseKeyValue('stream=in', 'source')).toEqual(['stream', 'in']);
    expect(parseKeyValue('flag=true', 'source')).toEqual(['flag', true]);
    expect(parseKeyValue('x={"a":1}', 'source')).toEqual(['x', { a: 1 }]);
    expect(parseKeyValue('url=redis://h:1?a=b', 'source')).toEqual(['url', 'redis://h:1?a=b']);
    expect(parseKeyValue('empty=', 'source')).toEqual(['empty', '']);
  });

  it('refuses a pair without a key', () => {
    expect(() => parseKeyValue('stream', 'source')).toThrow('--source expects KEY=VALUE, got "stream"');
    expect(() => parseKeyValue('=x', 'sink')).toThrow(UsageError);
  });
});

describe('flow flags', () => {
  it('maps the flags to flow settings', () => {
    expect(
      flowSettingsFromFlags({
        'batch-size': '500',
        'max-batches': '3',
        follow: true,
        'when-full': 'stop',
        'poll-interval-ms': '50',
      }),
    ).toEqual({ batchSize: 500, maxBatches: 3, stopWhenEmpty: false, whenFull: 'stop', pollIntervalMs: 50 });
    // Left as text so that the schema names the field and the value.
    expect(flowSettingsFromFlags({ 'batch-size': 'lots' })).toEqual({ batchSize: 'lots' });
  });

  it('builds a one-off config with connections source and sink', () => {
    const input = oneOffConfigInput(
      {
        'source-url': 'redis://127.0.0.1:6379',
        source: ['stream=in', 'mode=range'],
        sink: ['stream=out', 'maxLen=100000'],
        'batch-size': '1000',
      },
      registry,
    );
    expect(input).toEqual({
      connections: {
        source: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
        sink: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
      },
      flows: {
        'one-off': {
          source: { stream: 'in', mode: 'range', connection: 'source' },
          sink: { stream: 'out', maxLen: 100000, connection: 'sink' },
          batchSize: 1000,
        },
      },
    });
  });

  it('lets --source-kind override the scheme', () => {
    const input = oneOffConfigInput(
      {
        'source-url': 'http://h',
        'source-kind': 'redis-stream',
        'sink-url': 'redis://h',
      },
      registry,
    );
    expect(input).toMatchObject({ connections: { source: { kind: 'redis-stream' }, sink: { kind: 'redis-stream' } } });
  });

  it('overrides a file flow, keeping what the flags do not name', () => {
    const input = {
      connections: {},
      flows: { f: { source: { stream: 'a' }, sink: { stream: 'b', maxLen: 5 }, batchSize: 10 }, g: {} },
    };
    expect(applyFlowOverrides(input, 'f', { 'max-batches': '2', sink: ['maxLen=9'] })).toEqual({
      connections: {},
      flows: {
        f: { source: { stream: 'a' }, sink: { stream: 'b', maxLen: 9 }, batchSize: 10, maxBatches: 2 },
        g: {},
      },
    });
  });
});

describe('resolveRunTarget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-args-'));
  const path = join(dir, 'ferry.yml');
  writeFileSync(
    path,
    [
      'connections:',
      '  default: { kind: redis-stream, url: "redis://127.0.0.1:6379" }',
      'flows:',
      '  f:',
      '    source: { stream: a }',
      '    sink: { stream: b }',
      '    batchSize: 10',
    ].join('\n'),
  );

  it('reads a file flow with the flags on top', async () => {
    const { config, flowName } = await resolveRunTarget(
      [path, 'f'],
      { 'batch-size': '20', follow: true },
      {},
      registry,
    );
    expect(flowName).toBe('f');
    expect(config.flows.f).toMatchObject({ batchSize: 20, stopWhenEmpty: false, source: { connection: 'default' } });
  });

  it('validates a one-off flow with the same schema', async () => {
    const { config, flowName } = await resolveRunTarget(
      [],
      { 'source-url': 'redis://h:1', source: ['stream=a'] },
      {},
      registry,
    );
    expect(flowName).toBe('one-off');
    expect(config.flows['one-off']).toMatchObject({ batchSize: 1000, whenFull: 'wait', retry: { retries: 8 } });
  });

  it('names the field and the value of a bad flag, and a kind no connector has', async () => {
    const run = () => resolveRunTarget([path, 'f'], { 'batch-size': 'lots' }, {}, registry);
    await expect(run()).rejects.toThrow(ConfigError);
    await expect(run()).rejects.toThrow(/flows\.f\.batchSize: .*\(got "lots"\)/);
    await expect(resolveRunTarget([path, 'f'], { 'when-full': 'explode' }, {}, registry)).rejects.toThrow(
      /flows\.f\.whenFull: .*"wait".*"stop".*\(got "explode"\)/,
    );
    const oneOff = resolveRunTarget([], { 'source-url': 'redis://h', 'sink-kind': 'kafka' }, {}, registry);
    await expect(oneOff).rejects.toThrow(/connections\.sink\.kind: .*"redis-stream".*"clickhouse".*\(got "kafka"\)/);
  });

  it('says which argument is missing', async () => {
    const resolve = (positionals: string[], values: RunFlagValues) =>
      resolveRunTarget(positionals, values, {}, registry);
    await expect(resolve([], {})).rejects.toThrow('missing <config-file>');
    await expect(resolve([path], {})).rejects.toThrow('missing <flow-name>');
    await expect(resolve([path, 'f', 'x'], {})).rejects.toThrow('unexpected argument "x"');
    await expect(resolve([path, 'f'], { 'source-kind': 'mongo' })).rejects.toThrow(UsageError);
    await expect(resolve(['a', 'b'], { 'source-url': 'redis://h' })).rejects.toThrow(UsageError);
  });
});
