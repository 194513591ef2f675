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

describe('a poison message on a quorum queue', () => {
  it('is dead-lettered after maxDeliveries deliveries, and the rest flow', async () => {
    const queue = streams.name('poison.queue');
    const out = streams.name('poison.out');
    const dead = streams.name('poison.dead');
    // `{}` cannot become a stream entry once the sink writes no source id: the sink refuses it every time.
    await vhost.publish(
      queue,
      ['{"n":1}', '{"n":2}', '{}', '{"n":4}', '{"n":5}'],
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'],
      { 'x-queue-type': 'quorum' },
    );
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
        'flows:',
        '  q2s:',
        `    source: { connection: rabbit, queue: ${queue}, queueType: quorum, maxDeliveries: 3, prefetch: 1 }`,
        `    sink: { stream: ${out}, sourceIdField: false }`,
        `    deadLetter: { stream: ${dead}, codec: json }`,
        // One message in flight at a time, so that only the poison one is delivered again and again.
        '    batchSize: 1',
      ].join('\n'),
    );

    const codes: (number | null)[] = [];
    for (let run = 0; run < 5 && codes.at(-1) !== 0; run++) {
      const result = await ferry(['run', file, 'q2s']);
      codes.push(result.code);
      if (result.code === 1) {
        expect(result.stderr).toContain('[redis-stream] record p-3 cannot be written to stream');
      } else {
        expect(lastLine(result.stdout)).toMatch(/; dead-lettered 1; stopped: source empty$/);
      }
    }
    // Delivered, refused, requeued; again; the third delivery reaches maxDeliveries and is dead-lettered.
    expect(codes).toEqual([1, 1, 0]);
    expect((await streams.entries(out)).map((e) => e.n)).toEqual(['1', '2', '4', '5']);
    const letters = await streams.entries(dead);
    expect(letters).toHaveLength(1);
    expect(JSON.parse(letters[0]!.data!)).toMatchObject({
      sourceId: 'p-3',
      attempts: 3,
      reason: 'delivered 3 times without being acknowledged (maxDeliveries 3)',
      original: Buffer.from('{}').toString('base64'),
    });
    expect(await vhost.count(queue)).toBe(0);
  });
});
