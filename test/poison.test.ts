import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';

const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const streams = new TestStreams();
const vhost = new TestVhost();

beforeAll(() => vhost.setUp(), 60_000);
afterAll(async () => {
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

function config(queue: string, out: string, dead: string): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
      `control: { url: "${redisUrl}", prefix: ferry-poison-${process.pid} }`,
      'flows:',
      '  flow:',
      `    source: { connection: rabbit, queue: ${queue}, queueType: quorum, maxDeliveries: 3, prefetch: 1 }`,
      `    sink: { stream: ${out} }`,
      `    deadLetter: { stream: ${dead}, codec: json }`,
      // One message in flight at a time, so that only the poison one is delivered again and again.
      '    batchSize: 1',
    ].join('\n'),
  );
}

describe('poison messages on a quorum queue', () => {
  it('one that kills the worker every time is dead-lettered at its maxDeliveries-th delivery, and the rest flow', async () => {
    const queue = streams.name('poison.queue');
    const out = streams.name('poison.out');
    const dead = streams.name('poison.dead');
    await vhost.publish(
      queue,
      ['{"n":1}', '{"n":2}', '{"n":3,"poison":true}', '{"n":4}', '{"n":5}'],
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'],
      { 'x-queue-type': 'quorum' },
    );
    const file = config(queue, out, dead);
    const ends: (string | number | null)[] = [];
    for (let run = 0; run < 5 && ends.at(-1) !== 0; run++) {
      const result = spawnSync(process.execPath, [fixture, file, 'flow', '0'], {
        encoding: 'utf8',
        env: { ...process.env, FERRY_TEST_KILL_ON_POISON: '1' },
        timeout: 30_000,
      });
      ends.push(result.signal ?? result.status);
    }
    // Killed by it twice; its third delivery reaches maxDeliveries and is dead-lettered, not handed over.
    expect(ends).toEqual(['SIGKILL', 'SIGKILL', 0]);
    expect((await streams.entries(out)).map((e) => e._source_id)).toEqual(['p-1', 'p-2', 'p-4', 'p-5']);
    const letters = await streams.entries(dead);
    expect(letters).toHaveLength(1);
    expect(JSON.parse(letters[0]!.data!)).toMatchObject({
      sourceId: 'p-3',
      attempts: 3,
      reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
      original: Buffer.from('{"n":3,"poison":true}').toString('base64'),
    });
    expect(await vhost.count(queue)).toBe(0);
  });

  it('one the sink refuses is dead-lettered at once with the sink reason, and the rest flow', async () => {
    const queue = streams.name('refused.queue');
    const out = streams.name('refused.out');
    const dead = streams.name('refused.dead');
    // `{}` cannot become a stream entry once the sink writes no source id: the sink refuses it.
    await vhost.publish(queue, ['{"n":1}', '{}', '{"n":3}'], ['r-1', 'r-2', 'r-3'], { 'x-queue-type': 'quorum' });
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
        'flows:',
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue}, queueType: quorum }`,
        `    sink: { stream: ${out}, sourceIdField: false }`,
        `    deadLetter: { stream: ${dead}, codec: json }`,
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'q2s']);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 2 records .*; dead-lettered 1; stopped: source empty$/);
    expect((await streams.entries(out)).map((e) => e.n)).toEqual(['1', '3']);
    expect(JSON.parse((await streams.entries(dead))[0]!.data!)).toMatchObject({
      sourceId: 'r-2',
      reason: 'the value has no fields, and a stream entry needs at least one',
      original: Buffer.from('{}').toString('base64'),
    });
    expect(await vhost.count(queue)).toBe(0);
  });
});
