import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecordValue } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';
import { openSystems, type System } from './support/systems.js';

const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const systems = await openSystems('poison');
const maxDeliveries = 3;

/** A flow from a source that counts deliveries to a stream, queue… of the same system, dead letters beside it. */
function config(system: System, from: string, out: string, dead: string): string {
  const source = JSON.stringify({ connection: system.connection, ...system.end.poison!.endpoint(from, maxDeliveries) });
  return configFile(
    [
      systems.connections(),
      `control: { url: "${redisUrl}", prefix: ferry-poison-${process.pid}-${system.letter} }`,
      'flows:',
      '  flow:',
      `    source: ${source}`,
      `    sink: ${systems.endpoint(system, out, 'sink')}`,
      `    deadLetter: ${systems.endpoint(system, dead, 'sink')}`,
      // One message in flight at a time, so that only the poison one is delivered again and again.
      '    batchSize: 1',
    ].join('\n'),
  );
}

const values: RecordValue[] = [{ n: 1n }, { n: 2n }, { n: 3n, poison: true }, { n: 4n }, { n: 5n }];
const deadLetterSample: RecordValue = { reason: '', sourceId: '', attempts: 0n, original: new Uint8Array() };

for (const system of systems.list.filter((s) => s.end.poison !== undefined)) {
  describe(`poison messages at ${system.definition.title} (maxDeliveries)`, () => {
    it('one that kills the worker every time is dead-lettered at its maxDeliveries-th delivery, and the rest flow', async () => {
      const { end } = system;
      const from = end.name('poison.in');
      const out = end.name('poison.out');
      const dead = end.name('poison.dead');
      const ids = await end.poison!.seed(from, values);
      await end.create(out, values[0]!);
      await end.create(dead, deadLetterSample);
      const file = config(system, from, out, dead);
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
      expect((await end.readBack(out)).map((record) => record.id)).toEqual([ids[0], ids[1], ids[3], ids[4]]);
      const letters = await end.readBack(dead);
      expect(letters).toHaveLength(1);
      expect(letters[0]!.value).toMatchObject({
        sourceId: ids[2],
        attempts: String(maxDeliveries),
        reason: `delivered ${maxDeliveries} times without being acknowledged (maxDeliveries ${maxDeliveries})`,
      });
      // Its original bytes, as the source read them.
      expect(String(letters[0]!.value.original)).toContain('"poison":true');
      expect(await end.left(from)).toBe(0);
    });
  });
}

// A refusal at the sink, on a quorum queue to a stream: dead-lettered at once, with the sink's reason.
const streams = new TestStreams();
const vhost = new TestVhost();

beforeAll(() => vhost.setUp(), 60_000);
afterAll(async () => {
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

describe('a record the sink refuses', () => {
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
