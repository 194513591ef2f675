import { ConfigError, type FerryConfigInput, parseConfig } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { buildFlow, validateConfig } from './flow-builder.js';

const registry = createRegistry();

const connections = {
  default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
  alias: { kind: 'redis-stream', url: 'redis://user:secret@LOCALHOST/0' },
  db1: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379/1' },
  elsewhere: { kind: 'redis-stream', url: 'redis://10.0.0.2:6379' },
  rabbit: { kind: 'rabbitmq', url: 'amqp://127.0.0.1' },
  rabbit2: { kind: 'rabbitmq', url: 'amqp://guest:guest@localhost:5672/%2F' },
  rabbitVhost: { kind: 'rabbitmq', url: 'amqp://127.0.0.1:5672/other' },
  mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017', database: 'app' },
  mongoPath: { kind: 'mongo', url: 'mongodb://localhost/app' },
  clickhouse: { kind: 'clickhouse', url: 'http://127.0.0.1:8123' },
  clickhouse2: { kind: 'clickhouse', url: 'http://localhost', database: 'default' },
};

function check(flow: FerryConfigInput['flows'] extends Record<string, infer F> | undefined ? F : never) {
  const config = parseConfig({ connections, flows: { f: flow } }, 'test config');
  const problems = validateConfig(config, registry)[0]!.problems;
  let built: unknown;
  try {
    buildFlow(config, 'f', registry);
  } catch (error) {
    built = error;
  }
  return { problems, built };
}

describe('a flow whose sink is its source', () => {
  const refused: [string, Parameters<typeof check>[0], RegExp][] = [
    [
      'one stream, one connection',
      { source: { stream: 'in' }, sink: { stream: 'in' } },
      /flow "f": its sink is its source, stream "in" on 127\.0\.0\.1:6379\/0 \(connection "default"\)/,
    ],
    [
      'one stream through two connections to one server (localhost, default port, db 0 in the path)',
      { source: { stream: 'in' }, sink: { connection: 'alias', stream: 'in' } },
      /stream "in" on 127\.0\.0\.1:6379\/0 \(connections "default" and "alias", one server\)/,
    ],
    [
      'one queue, the vhost "/" given or not',
      { source: { connection: 'rabbit', queue: 'q' }, sink: { connection: 'rabbit2', queue: 'q' } },
      /its sink is its source, queue "q" on 127\.0\.0\.1:5672\/\/ /,
    ],
    [
      'one collection, the database given as a key or in the URL path',
      {
        source: { connection: 'mongo', collection: 'events', mode: 'move' },
        sink: { connection: 'mongoPath', collection: 'events' },
      },
      /collection "app\.events" on 127\.0\.0\.1:27017\/app/,
    ],
    [
      'one table, the database by default or named',
      {
        source: { connection: 'clickhouse', table: 't', cursor: 'n' },
        sink: { connection: 'clickhouse2', table: 't' },
      },
      /table "default\.t" on 127\.0\.0\.1:8123\/default/,
    ],
    [
      'a dead-letter sink on the source',
      { source: { stream: 'in' }, sink: { stream: 'out' }, deadLetter: { connection: 'alias', stream: 'in' } },
      /its dead-letter sink is its source, stream "in"/,
    ],
  ];

  it.each(refused)('is refused: %s', (_label, flow, message) => {
    const { problems, built } = check(flow);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(problems[0]).toMatch(/in a circle/);
    expect(problems[0]).not.toMatch(/secret/);
    expect(built).toBeInstanceOf(ConfigError);
    expect((built as Error).message).toBe(problems[0]);
  });

  const allowed: [string, Parameters<typeof check>[0]][] = [
    ['another stream', { source: { stream: 'in' }, sink: { stream: 'out' } }],
    [
      'the same stream name in another database',
      { source: { stream: 'in' }, sink: { connection: 'db1', stream: 'in' } },
    ],
    [
      'the same stream name on another host',
      { source: { stream: 'in' }, sink: { connection: 'elsewhere', stream: 'in' } },
    ],
    [
      'the same queue name in another vhost',
      { source: { connection: 'rabbit', queue: 'q' }, sink: { connection: 'rabbitVhost', queue: 'q' } },
    ],
    // Where an exchange routes is the broker's bindings: not known without connecting.
    [
      'a sink publishing to an exchange',
      { source: { connection: 'rabbit', queue: 'q' }, sink: { connection: 'rabbit', exchange: 'x', routingKey: 'q' } },
    ],
  ];

  it.each(allowed)('is allowed: %s', (_label, flow) => {
    const { problems, built } = check(flow);
    expect(problems).toEqual([]);
    expect(built).toBeUndefined();
  });
});
