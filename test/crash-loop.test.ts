import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configFile, redisUrl } from './support/cli.js';
import { useWorld } from './support/world.js';

// The worker killed with SIGKILL again and again, half the time right after a
// write and before its ack (the worst moment), half the time at a random
// moment; restarted each time. At the end the target must hold exactly the
// source's records: nothing lost, nothing doubled where the sink can tell.

const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const total = 20_000;
const batch = 200;
const kills = 10;

const world = useWorld('crash');
const { streams, vhost } = world;

function config(flow: string): string {
  return configFile(
    [
      world.connections(),
      `control: { url: "${redisUrl}", prefix: ferry-crash-${process.pid} }`,
      'flows:',
      '  flow:',
      flow,
      `    batchSize: ${batch}`,
      '    retry: { retries: 5, initialDelayMs: 50, maxDelayMs: 500 }',
    ].join('\n'),
  );
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runOnce(file: string, killAfterWrite: number, killAfterMs?: number, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, file, 'flow', String(killAfterWrite)], {
      stdio: 'pipe',
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Kills the flow `kills` times, then lets it finish; resolves with how many runs were really killed.
 * `direct`: the flow's own sink, unwrapped, so that S2S on one Redis moves batches the same-server
 * way; with no write to kill after, every kill is at a random moment.
 */
async function crashLoop(file: string, direct = false): Promise<number> {
  const env = direct ? { FERRY_TEST_DIRECT: '1' } : undefined;
  let killed = 0;
  for (let i = 0; i < kills; i++) {
    const run =
      i % 2 === 0 && !direct
        ? await runOnce(file, 1 + Math.floor(Math.random() * 5))
        : await runOnce(file, 0, 50 + Math.floor(Math.random() * 400), env);
    if (run.signal === 'SIGKILL') killed += 1;
    else expect(run.code, run.stderr).toBe(0);
  }
  const last = await runOnce(file, 0, undefined, env);
  expect(last.code, last.stderr).toBe(0);
  const result = JSON.parse(last.stdout);
  expect(result).toMatchObject({ stopReason: 'empty' });
  expect(result.direct).toBe(direct ? 'same-server script' : undefined);
  return killed;
}

const clickHouseTable = () => world.table('n UInt64, name String, tags String, _source_id String', 'n');

async function clickHouseIds(table: string): Promise<string[]> {
  const rows = await (
    await world.ch.query({ query: `SELECT _source_id FROM default.\`${table}\``, format: 'JSONEachRow' })
  ).json<{ _source_id: string }>();
  return rows.map((r) => r._source_id);
}

async function publish(queue: string): Promise<string[]> {
  const ids = Array.from({ length: total }, (_, i) => `crash-${i}`);
  for (let start = 0; start < total; start += 5000) {
    await vhost.publish(
      queue,
      ids
        .slice(start, start + 5000)
        .map((_, i) => JSON.stringify({ n: start + i, name: `msg-${start + i}`, tags: '["e2e"]' })),
      ids.slice(start, start + 5000),
    );
  }
  return ids;
}

const sorted = (ids: readonly string[]) => [...ids].sort();

describe(`the worker killed with SIGKILL ${kills} times and restarted: exactly the source's records at the end`, () => {
  it('S2S', async () => {
    const from = streams.name('crash.s2s.in');
    const to = streams.name('crash.s2s.out');
    const ids = await streams.seed(from, total);
    const killed = await crashLoop(config(`    source: { stream: ${from} }\n    sink: { stream: ${to} }`));
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await streams.len(from)).toBe(0);
    const out = await streams.entries(to);
    expect(out.map((e) => e._source_id)).toEqual(ids);
    expect(out[123]).toMatchObject({ n: '123', name: 'msg-123', tags: '["e2e"]' });
  });

  it('S2S on the same-server path', async () => {
    const from = streams.name('crash.direct.in');
    const to = streams.name('crash.direct.out');
    const ids = await streams.seed(from, total);
    const killed = await crashLoop(config(`    source: { stream: ${from} }\n    sink: { stream: ${to} }`), true);
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await streams.len(from)).toBe(0);
    const out = await streams.entries(to);
    expect(out.map((e) => e._source_id)).toEqual(ids);
    expect(out[123]).toMatchObject({ n: '123', name: 'msg-123', tags: '["e2e"]' });
  });

  it('S2M', async () => {
    const from = streams.name('crash.s2m.in');
    const collection = streams.name('crash.s2m.docs');
    const ids = await streams.seed(from, total);
    const killed = await crashLoop(
      config(`    source: { stream: ${from} }\n    sink: { connection: mongo, collection: ${collection} }`),
    );
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await streams.len(from)).toBe(0);
    const docs = await world.db.collection(collection).find({}).toArray();
    expect(sorted(docs.map((d) => String(d._id)))).toEqual(sorted(ids));
    expect(docs.find((d) => String(d._id) === ids[7])).toMatchObject({ n: '7', name: 'msg-7' });
  });

  it('S2C', async () => {
    const from = streams.name('crash.s2c.in');
    const table = await clickHouseTable();
    const ids = await streams.seed(from, total);
    const killed = await crashLoop(
      config(`    source: { stream: ${from} }\n    sink: { connection: clickhouse, table: ${table} }`),
    );
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await streams.len(from)).toBe(0);
    expect(sorted(await clickHouseIds(table))).toEqual(sorted(ids));
  });

  it('Q2S', async () => {
    const queue = streams.name('crash.q2s.queue');
    const to = streams.name('crash.q2s.out');
    const ids = await publish(queue);
    const killed = await crashLoop(
      config(`    source: { connection: rabbit, queue: ${queue} }\n    sink: { stream: ${to} }`),
    );
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await vhost.count(queue)).toBe(0);
    expect(sorted((await streams.entries(to)).map((e) => e._source_id!))).toEqual(sorted(ids));
  });

  it('Q2C', async () => {
    const queue = streams.name('crash.q2c.queue');
    const table = await clickHouseTable();
    const ids = await publish(queue);
    const killed = await crashLoop(
      config(
        `    source: { connection: rabbit, queue: ${queue} }\n    sink: { connection: clickhouse, table: ${table} }`,
      ),
    );
    expect(killed).toBeGreaterThanOrEqual(kills / 2);
    expect(await vhost.count(queue)).toBe(0);
    expect(sorted(await clickHouseIds(table))).toEqual(sorted(ids));
  });

  it('S2Q: a RabbitMQ sink cannot be asked, so a batch in doubt is published again, with the same messageIds', async () => {
    const from = streams.name('crash.s2q.in');
    const queue = streams.name('crash.s2q.out');
    const ids = await streams.seed(from, total);
    const killed = await crashLoop(
      config(`    source: { stream: ${from} }\n    sink: { connection: rabbit, queue: ${queue}, declare: true }`),
    );
    expect(await streams.len(from)).toBe(0);
    const messages = await vhost.drain(queue);
    const messageIds = messages.map((m) => m.messageId!);
    expect(new Set(messageIds)).toEqual(new Set(ids));
    // At most one batch per crash, each duplicate a copy of a message that is there.
    expect(messages.length - ids.length).toBeLessThanOrEqual(killed * batch);
  });
});
