import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const fixture = fileURLToPath(new URL('./fixtures/crash-flow.mjs', import.meta.url));
const total = 5000;
const batch = 1000;

let redis: Redis;
const keys: string[] = [];

beforeAll(() => {
  redis = new Redis(url);
});
afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function names(mode: string) {
  const base = `ferry.test.crash.${mode}.${Date.now().toString(36)}.${process.pid}`;
  const pair = [`${base}.in`, `${base}.out`] as const;
  keys.push(...pair);
  return pair;
}

async function seed(stream: string) {
  const pipeline = redis.pipeline();
  for (let i = 0; i < total; i++) pipeline.xadd(stream, '*', 'n', String(i), 'text', `message ${i}`);
  await pipeline.exec();
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([id]) => id);
}

function runFlow(from: string, to: string, mode: string, killAfterWrite: number, journal = '') {
  return spawnSync(process.execPath, [fixture, url, from, to, mode, String(killAfterWrite), journal], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

async function sourceIdsAt(stream: string): Promise<string[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('_source_id') + 1]!);
}

describe.each(['range', 'group'])('S2S %s mode, killed with SIGKILL between a write and its ack', (mode) => {
  it(`${mode} mode loses nothing: the unacked batch comes back and the restarted flow drains the source`, async () => {
    const [from, to] = names(mode);
    const ids = await seed(from);

    const crashed = runFlow(from, to, mode, 3);
    expect(crashed.signal).toBe('SIGKILL');
    // Three batches reached the target; only two were acked at the source.
    expect(await redis.xlen(to)).toBe(3 * batch);
    expect(await redis.xlen(from)).toBe(total - 2 * batch);

    const restarted = runFlow(from, to, mode, 0);
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(JSON.parse(restarted.stdout)).toMatchObject({ stopReason: 'empty' });

    expect(await redis.xlen(from)).toBe(0);
    const arrived = await sourceIdsAt(to);
    expect(new Set(arrived)).toEqual(new Set(ids));
    if (mode === 'group') {
      // The pending batch comes back marked as redelivered: the sink is asked, and it is not written twice.
      expect(arrived).toHaveLength(ids.length);
    } else {
      // A range read cannot tell a redelivery: until the batch journal lands, it is written twice, never more.
      expect(arrived.length - ids.length).toBeLessThanOrEqual(batch);
    }
    const fields = (await redis.xrange(to, '-', '+', 'COUNT', 1))[0]![1];
    expect(fields.slice(0, 4)).toEqual(['n', '0', 'text', 'message 0']);
  });
});

describe('S2S range mode with the batch journal, killed with SIGKILL between a write and its ack', () => {
  it('writes every record exactly once: the batch in doubt is checked against the sink', async () => {
    const [from, to] = names('journal');
    const journal = `${from}.journal`;
    keys.push(journal);
    const ids = await seed(from);

    expect(runFlow(from, to, 'range', 3, journal).signal).toBe('SIGKILL');
    expect(await redis.xlen(to)).toBe(3 * batch);
    // The third batch is written, not acked, and noted in the journal.
    expect(JSON.parse((await redis.hget(journal, 'worker-1'))!)).toMatchObject({
      ids: ids.slice(2 * batch, 3 * batch),
      attempts: 1,
      position: expect.stringMatching(/^\d+-\d+$/),
    });

    const restarted = runFlow(from, to, 'range', 0, journal);
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(await redis.xlen(from)).toBe(0);
    expect(await sourceIdsAt(to)).toEqual(ids);
    expect(await redis.exists(journal)).toBe(0);
  });
});
