import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configFile, redisUrl } from './support/cli.js';
import { chdbTarget } from './support/clickhouse-targets.js';
import { clickHouseUrl, useWorld } from './support/world.js';

// Sources that keep no delivery count of their own (a Redis stream in range
// mode, a MongoDB collection, a ClickHouse table): the batch journal counts
// the attempts, so that a record that kills the worker every time is
// dead-lettered after maxAttempts instead of being read again forever.
const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const world = useWorld('attempts');

/** One run of the flow in a worker process of its own; what it ended with (an exit code, or the signal that killed it). */
function runOnce(file: string): Promise<string | number | null> {
  return new Promise((resolve, reject) => {
    // Not spawnSync: the MongoDB test server runs in this process and must go on answering.
    const child = spawn(process.execPath, [fixture, file, 'flow', '0'], {
      env: { ...process.env, FERRY_TEST_KILL_ON_POISON: '1' },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? code);
    });
  });
}

/** Runs the flow as restarted workers would, until a run ends by itself. */
async function runUntilDone(file: string): Promise<(string | number | null)[]> {
  const ends: (string | number | null)[] = [];
  while (ends.length < 12 && (ends.length === 0 || ends.at(-1) === 'SIGKILL')) ends.push(await runOnce(file));
  return ends;
}

function config(source: string, out: string, dead: string, connections = world.connections()): string {
  return configFile(
    [
      connections,
      `control: { url: "${redisUrl}", prefix: ferry-attempts-${process.pid}-${out.slice(-12)} }`,
      'flows:',
      '  flow:',
      `    source: ${source}`,
      `    sink: { stream: ${out} }`,
      `    deadLetter: { stream: ${dead}, codec: json }`,
      '    batchSize: 3',
      '    maxAttempts: 2',
    ].join('\n'),
  );
}

/**
 * Seven records, the fifth poison, batches of three: the batch [4 5 6] kills
 * the worker twice, is then read one record at a time, record 5 kills it twice
 * more on its own and is dead-lettered by the fifth run, which moves the rest.
 */
const expectedEnds = ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL', 0];

async function expectPoisonSetAside(out: string, dead: string, ns: string[], poisonId: string) {
  const moved = await world.streams.entries(out);
  expect(moved.map((entry) => Number(entry.n))).toEqual(ns.map(Number));
  const letters = await world.streams.entries(dead);
  expect(letters).toHaveLength(1);
  expect(JSON.parse(letters[0]!.data!)).toMatchObject({
    sourceId: poisonId,
    attempts: 2,
    reason: expect.stringContaining('written 2 times without being acknowledged (maxAttempts 2)'),
  });
}

describe('a record that kills the worker every time, from a source that keeps no delivery count', () => {
  it('Redis range mode: dead-lettered after maxAttempts on its own, the rest moved once', async () => {
    const from = world.streams.name('range.in');
    const out = world.streams.name('range.out');
    const dead = world.streams.name('range.dead');
    const ids: string[] = [];
    for (let n = 1; n <= 7; n += 1) {
      const fields = n === 5 ? ['n', String(n), 'poison', 'true'] : ['n', String(n)];
      ids.push((await world.streams.redis.xadd(from, '*', ...fields))!);
    }
    expect(await runUntilDone(config(`{ stream: ${from} }`, out, dead))).toEqual(expectedEnds);
    await expectPoisonSetAside(out, dead, ['1', '2', '3', '4', '6', '7'], ids[4]!);
    expect(await world.streams.len(from)).toBe(0);
  });

  it('MongoDB copy mode: the same, by _id', async () => {
    const collection = world.streams.name('copy').replaceAll('.', '_');
    const out = world.streams.name('mongo.out');
    const dead = world.streams.name('mongo.dead');
    await world.db
      .collection(collection)
      .insertMany(
        Array.from({ length: 7 }, (_, i) => ({ _id: `doc-${i + 1}`, n: i + 1, poison: i + 1 === 5 })) as never,
      );
    const source = `{ connection: mongo, collection: ${collection} }`;
    expect(await runUntilDone(config(source, out, dead))).toEqual(expectedEnds);
    await expectPoisonSetAside(out, dead, ['1', '2', '3', '4', '6', '7'], 'doc-5');
  });

  it('ClickHouse keyset reads: the same, by the cursor column', async () => {
    const table = await world.table('n UInt32, poison UInt8', 'n');
    await world.ch.insert({
      table: `default.${table}`,
      values: Array.from({ length: 7 }, (_, i) => ({ n: i + 1, poison: i + 1 === 5 ? 1 : 0 })),
      format: 'JSONEachRow',
    });
    const out = world.streams.name('ch.out');
    const dead = world.streams.name('ch.dead');
    const source = `{ connection: clickhouse, database: default, table: ${table}, cursor: n }`;
    expect(await runUntilDone(config(source, out, dead))).toEqual(expectedEnds);
    await expectPoisonSetAside(out, dead, ['1', '2', '3', '4', '6', '7'], '5');
  });

  it('ClickHouse 26 embedded (chDB): the same; each killed worker leaves its directory to the next', async () => {
    const embedded = chdbTarget();
    try {
      const table = await embedded.table('attempts', 'n UInt32, poison UInt8', 'n');
      await embedded.command(`INSERT INTO default.${table} SELECT number + 1, number + 1 = 5 FROM numbers(7)`);
      const out = world.streams.name('chdb.out');
      const dead = world.streams.name('chdb.dead');
      const source = `{ connection: clickhouse, database: default, table: ${table}, cursor: n }`;
      const connections = world.connections().replace(`url: "${clickHouseUrl}"`, `url: "${embedded.url}"`);
      expect(connections).toContain(embedded.url);
      expect(await runUntilDone(config(source, out, dead, connections))).toEqual(expectedEnds);
      await expectPoisonSetAside(out, dead, ['1', '2', '3', '4', '6', '7'], '5');
    } finally {
      await embedded.close();
    }
  });
});
