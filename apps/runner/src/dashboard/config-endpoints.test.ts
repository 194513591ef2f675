import { parseConfig } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { edgeName } from '../jobs/flow-builder.js';
import { configEndpoints, flowInfos } from './config-endpoints.js';

const registry = createRegistry();

const config = parseConfig({
  connections: {
    default: { kind: 'redis-stream', url: 'redis://user:hunter2@127.0.0.1:6379' },
    rabbit: { kind: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672' },
    mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017/app' },
    ch: { kind: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'stats' },
  },
  flows: {
    in: { source: { stream: 'a' }, sink: { connection: 'rabbit', queue: 'tasks' }, deadLetter: { stream: 'dlq' } },
    back: { source: { connection: 'rabbit', queue: 'tasks' }, sink: { connection: 'mongo', collection: 'docs' } },
    out: { source: { connection: 'mongo', collection: 'docs' }, sink: { stream: 'b' }, stopWhenEmpty: false },
    stats: { source: { stream: 'b' }, sink: { connection: 'ch', table: 'events' }, deadLetter: { stream: 'dlq' } },
    routed: { source: { stream: 'b' }, sink: { connection: 'rabbit', exchange: 'fan' } },
  },
});

describe('configEndpoints', () => {
  it('lists every stream, queue, exchange, collection and table once, with the flows that use it', () => {
    const endpoints = configEndpoints(config, registry);
    expect(endpoints.map((e) => [e.id, e.letter, e.what])).toEqual([
      ['default/a', 'S', 'stream'],
      ['rabbit/tasks', 'Q', 'queue'],
      ['default/dlq', 'S', 'stream'],
      ['mongo/app.docs', 'M', 'collection'],
      ['default/b', 'S', 'stream'],
      ['ch/stats.events', 'C', 'table'],
      ['rabbit/fan', 'Q', 'exchange'],
    ]);
    expect(endpoints.find((e) => e.id === 'default/dlq')?.roles).toEqual([
      { flow: 'in', role: 'deadLetter' },
      { flow: 'stats', role: 'deadLetter' },
    ]);
    // What an inspector of the connection is made from: its keys, not the kind.
    expect(endpoints.find((e) => e.id === 'ch/stats.events')?.connectionOptions).toEqual({
      url: 'http://127.0.0.1:8123',
      database: 'stats',
    });
    expect(endpoints.find((e) => e.id === 'ch/stats.events')?.options).toMatchObject({
      table: 'events',
      connectionName: 'ch',
    });
    expect(endpoints.find((e) => e.id === 'rabbit/tasks')?.roles).toEqual([
      { flow: 'in', role: 'sink' },
      { flow: 'back', role: 'source' },
    ]);
  });

  it('leaves out an endpoint whose options its connector refuses', () => {
    const bad = parseConfig({
      connections: { default: { kind: 'redis-stream', url: 'redis://h' } },
      flows: { f: { source: { stream: 'a', mode: 'sideways' }, sink: { stream: 'b' } } },
    });
    expect(configEndpoints(bad, registry).map((e) => e.id)).toEqual(['default/b']);
  });

  it('names flows by edge and endpoints by connection, never by URL', () => {
    expect(edgeName(config, config.flows.back!, registry)).toBe('Q2M');
    const flows = flowInfos(config, registry);
    expect(flows[0]).toEqual({
      name: 'in',
      edge: 'S2Q',
      source: 'default/a',
      sink: 'rabbit/tasks',
      deadLetter: 'default/dlq',
      follow: false,
    });
    expect(flows.find((f) => f.name === 'out')?.follow).toBe(true);
    expect(JSON.stringify(flows)).not.toMatch(/hunter2|127\.0\.0\.1/);
  });
});
