import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
const vhost = new TestVhost();

beforeAll(() => vhost.setUp(), 60_000);
afterAll(async () => {
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

/** A config with the Redis connection `default` and the RabbitMQ connection `rabbit`, plus the given flows. */
function config(flows: string): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
      'flows:',
      flows,
    ].join('\n'),
  );
}

describe('S2Q, Q2S and Q2Q through the ferry CLI against real Redis and RabbitMQ', () => {
  it('moves 10,000 messages S2Q then Q2S: exact counts, payloads intact, source ids carried', async () => {
    const origin = streams.name('s2q.in');
    const back = streams.name('q2s.out');
    const queue = streams.name('s2q.queue');
    const ids = await streams.seed(origin, 10_000);
    const file = config(
      [
        '  s2q:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: rabbit, queue: ${queue}, declare: true }`,
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue} }`,
        `    sink: { stream: ${back} }`,
      ].join('\n'),
    );

    const s2q = await ferry(['run', file, 's2q']);
    expect(s2q.stderr).toBe('');
    expect(s2q.code).toBe(0);
    expect(lastLine(s2q.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    expect(await streams.len(origin)).toBe(0);
    expect(await vhost.count(queue)).toBe(10_000);

    const q2s = await ferry(['run', file, 'q2s']);
    expect(q2s.stderr).toBe('');
    expect(q2s.code).toBe(0);
    expect(lastLine(q2s.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
    expect(await vhost.count(queue)).toBe(0);

    const out = await streams.entries(back);
    expect(out).toHaveLength(10_000);
    // The AMQP messageId is the stream entry id, and it comes back as the source id.
    expect(out.map((entry) => entry._source_id)).toEqual(ids);
    out.forEach((entry, i) => {
      expect(entry).toMatchObject({ n: String(i), name: `msg-${i}`, tags: '["e2e"]' });
    });
  });

  it('moves Q2Q with the messageId, persistence and source-id header kept', async () => {
    const from = streams.name('q2q.a');
    const to = streams.name('q2q.b');
    await vhost.publish(
      from,
      Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i, kind: 'q2q' })),
      Array.from({ length: 300 }, (_, i) => `order-${i}`),
    );
    const file = config(
      [
        '  q2q:',
        `    source: { connection: rabbit, queue: ${from} }`,
        `    sink: { connection: rabbit, queue: ${to}, declare: true }`,
        '    batchSize: 100',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'q2q']);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
    expect(await vhost.count(from)).toBe(0);
    const moved = await vhost.drain(to);
    expect(moved.map((m) => m.messageId)).toEqual(Array.from({ length: 300 }, (_, i) => `order-${i}`));
    expect(moved.map((m) => m.body)).toEqual(Array.from({ length: 300 }, (_, i) => ({ n: i, kind: 'q2q' })));
    expect(moved[0]!.headers).toMatchObject({ 'x-ferry-source-id': 'order-0' });
  });

  it('goes on after the broker closes its connections mid-flow, and the target holds every message once', async () => {
    const queue = streams.name('cut.queue');
    const out = streams.name('cut.out');
    const total = 40_000;
    const publish = async (from: number, to: number) => {
      for (let start = from; start < to; start += 5000) {
        await vhost.publish(
          queue,
          Array.from({ length: 5000 }, (_, i) => JSON.stringify({ n: start + i })),
          Array.from({ length: 5000 }, (_, i) => `cut-${start + i}`),
        );
      }
    };
    await publish(0, total / 2);
    const file = config(
      [
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue} }`,
        `    sink: { stream: ${out} }`,
        '    batchSize: 100',
        '    pollIntervalMs: 100',
        '    retry: { retries: 10, initialDelayMs: 100, maxDelayMs: 1000 }',
      ].join('\n'),
    );
    // Follow mode, so that the flow is still running when the broker has
    // closed its connections however fast the first half moved; the second
    // half is published after the cut, and must arrive through new connections.
    let cutAt: number | undefined;
    const run = await ferry(['run', file, 'q2s', '--follow'], {
      timeoutMs: 120_000,
      onSpawn: (child) => {
        let phase: 'before' | 'cutting' | 'after' = 'before';
        const poll = setInterval(async () => {
          const moved = await streams.len(out);
          if (phase === 'before' && moved >= 1000) {
            phase = 'cutting';
            await vhost.closeAllConnections();
            cutAt = await streams.len(out);
            await publish(total / 2, total);
            phase = 'after';
          } else if (phase === 'after' && moved >= total && (await vhost.count(queue)) === 0) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 50);
        child.on('close', () => clearInterval(poll));
      },
    });
    expect(run.code, run.stderr).toBe(130);
    expect(cutAt).toBeGreaterThanOrEqual(1000);
    expect(lastLine(run.stdout)).toMatch(/^moved \d+ records .*; stopped: cancelled$/);
    expect(await vhost.count(queue)).toBe(0);
    const entries = await streams.entries(out);
    expect(new Set(entries.map((entry) => entry._source_id)).size).toBe(total);
    // Exact: the batch in doubt when the connection was cut came back and was not written twice.
    expect(entries).toHaveLength(total);
  });

  it('sends a body that is not JSON to the dead-letter stream with the reason, and moves the rest', async () => {
    const queue = streams.name('bad.queue');
    const out = streams.name('bad.out');
    const dead = streams.name('bad.dead');
    await vhost.publish(queue, ['{"n":1}', 'not json at all', '{"n":3}'], ['a-1', 'a-2', 'a-3']);
    const file = config(
      [
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue} }`,
        `    sink: { stream: ${out} }`,
        `    deadLetter: { stream: ${dead}, codec: json }`,
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'q2s']);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 2 records .*; dead-lettered 1; stopped: source empty$/);
    expect((await streams.entries(out)).map((e) => e._source_id)).toEqual(['a-1', 'a-3']);
    const [letter] = await streams.entries(dead);
    expect(JSON.parse(letter!.data!)).toMatchObject({
      sourceId: 'a-2',
      source: 'rabbitmq',
      reason: expect.stringMatching(/not JSON/),
      original: Buffer.from('not json at all').toString('base64'),
    });
    expect(await vhost.count(queue)).toBe(0);
  });

  it('without a dead-letter sink, a body that is not JSON stops the flow and nothing of its batch is acked', async () => {
    const queue = streams.name('stop.queue');
    const out = streams.name('stop.out');
    await vhost.publish(queue, ['{"n":1}', 'not json at all', '{"n":3}'], ['b-1', 'b-2', 'b-3']);
    const file = config(
      ['  q2s:', `    source: { connection: rabbit, queue: ${queue} }`, `    sink: { stream: ${out} }`].join('\n'),
    );
    const run = await ferry(['run', file, 'q2s']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\[rabbitmq\] record b-2 rejected: .*not JSON/);
    expect(run.stderr).toContain('no dead-letter sink is set, so nothing of its batch was acked');
    expect(await streams.len(out)).toBe(0);
    expect(await vhost.count(queue)).toBe(3);
  });

  it('names the missing queue and the vhost, and exits 1', async () => {
    const queue = streams.name('missing.queue');
    const file = config(
      [
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue} }`,
        `    sink: { stream: ${streams.name('missing.out')} }`,
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'q2s']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`queue "${queue}" not found in vhost "${vhost.name}"`);
  });
});
