import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile } from './support/cli.js';
import { useWorld } from './support/world.js';

// What the dashboard shows of the four systems, read by the API process with
// each system's own client: a stream, a queue, collections and a table the
// config names, and a flow's dead letters in MongoDB with their reasons.

interface Snapshot {
  endpoints: { id: string; letter: string; what: string; depth?: number; error?: string; roles: unknown[] }[];
  deadLetters: { flow: string; endpoint: string; count?: number; latest?: { reason: string; sourceId?: string }[] }[];
  edges: { name: string; flows: string[] }[];
}

const world = useWorld('dash');
const token = 'dashboard-depths-token';
const prefix = uniquePrefix('dash');
let api: FerryProcess;
let stream: string;
let table: string;

beforeAll(async () => {
  stream = world.streams.name('dash.in');
  await world.streams.seed(stream, 120);
  await world.vhost.publish(
    'dash.tasks',
    Array.from({ length: 7 }, (_, i) => JSON.stringify({ n: i })),
  );
  await world.db.collection('docs').insertMany(Array.from({ length: 9 }, (_, n) => ({ n })));
  await world.db.collection('dead').insertMany([
    {
      _id: 'a' as never,
      reason: 'older: document over 16 MiB',
      sourceId: 'm-1',
      rejectedAt: '2026-01-01T00:00:00.000Z',
    },
    { _id: 'b' as never, reason: 'newer: $ field name', sourceId: 'm-2', rejectedAt: '2026-01-02T00:00:00.000Z' },
  ]);
  table = await world.table('n UInt64, _source_id String', 'n');
  await world.ch.command({ query: `INSERT INTO default.${table} (n, _source_id) VALUES (1,'a'),(2,'b'),(3,'c')` });

  const config = configFile(
    [
      world.connections(),
      'flows:',
      '  s2q:',
      `    source: { stream: ${stream} }`,
      '    sink: { connection: rabbit, queue: dash.tasks }',
      '  q2m:',
      '    source: { connection: rabbit, queue: dash.tasks }',
      '    sink: { connection: mongo, collection: docs }',
      '    deadLetter: { connection: mongo, collection: dead }',
      '  m2s:',
      '    source: { connection: mongo, collection: docs, mode: copy }',
      `    sink: { stream: ${stream} }`,
      '  s2c:',
      `    source: { stream: ${stream} }`,
      `    sink: { connection: clickhouse, table: ${table} }`,
      '  fan:',
      `    source: { stream: ${stream} }`,
      '    sink: { connection: rabbit, exchange: dash.fan }',
      '  lost:',
      `    source: { stream: ${stream} }`,
      '    sink: { connection: rabbit, queue: dash.nowhere }',
    ].join('\n'),
  );
  // The API alone: no worker, so nothing moves while the counts are read.
  api = await startFerry('api', ['--config', config, '--prefix', prefix], { FERRY_API_TOKEN: token });
});

afterAll(async () => {
  await api?.stop(5000);
  await dropPrefix(prefix);
});

describe('the dashboard picture of the four systems', () => {
  it('counts what the config names in each system, and reads the dead letters kept in MongoDB', async () => {
    const client = apiClient(api.url, token);
    let snapshot: Snapshot | undefined;
    await expect
      .poll(async () => {
        snapshot = (await (await client.get('/ui/snapshot')).json()) as Snapshot;
        return snapshot.endpoints.filter((e) => e.depth !== undefined).length;
      })
      .toBe(5);
    const byId = new Map(snapshot!.endpoints.map((e) => [e.id, e]));
    const database = world.db.databaseName;
    expect(byId.get(`default/${stream}`)).toMatchObject({ letter: 'S', what: 'stream', depth: 120 });
    expect(byId.get('rabbit/dash.tasks')).toMatchObject({ letter: 'Q', what: 'queue', depth: 7 });
    expect(byId.get(`mongo/${database}.docs`)).toMatchObject({ letter: 'M', what: 'collection', depth: 9 });
    expect(byId.get(`mongo/${database}.dead`)).toMatchObject({ letter: 'M', what: 'collection', depth: 2 });
    expect(byId.get(`clickhouse/default.${table}`)).toMatchObject({ letter: 'C', what: 'table', depth: 3 });
    expect(byId.get('rabbit/dash.fan')).toMatchObject({ what: 'exchange' });
    expect(byId.get('rabbit/dash.fan')?.depth).toBeUndefined();
    expect(byId.get('rabbit/dash.nowhere')?.error).toBe(`no queue 'dash.nowhere' in vhost '${world.vhost.name}'`);
    expect(byId.get(`default/${stream}`)?.roles).toHaveLength(5);

    expect(snapshot!.deadLetters).toEqual([
      {
        flow: 'q2m',
        endpoint: `mongo/${database}.dead`,
        count: 2,
        latest: [
          { id: 'b', reason: 'newer: $ field name', sourceId: 'm-2', at: '2026-01-02T00:00:00.000Z' },
          { id: 'a', reason: 'older: document over 16 MiB', sourceId: 'm-1', at: '2026-01-01T00:00:00.000Z' },
        ],
      },
    ]);
    const flowsOn = (edge: string) => snapshot!.edges.find((e) => e.name === edge)?.flows;
    expect(flowsOn('S2Q')).toEqual(['s2q', 'fan', 'lost']);
    expect(flowsOn('Q2M')).toEqual(['q2m']);
    expect(flowsOn('M2S')).toEqual(['m2s']);
    expect(flowsOn('S2C')).toEqual(['s2c']);
    // Names and counts only: the connections' URLs and credentials stay in the server.
    expect(JSON.stringify(snapshot)).not.toMatch(/guest|amqp:|mongodb:|redis:|http:/);
  });
});
