import { afterAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
afterAll(() => streams.cleanup());

/** Kills every Redis connection a flow opened under this connection name, as `CLIENT KILL` by an operator would. */
async function killConnections(name: string): Promise<number> {
  const list = (await streams.redis.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=ferry:${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await streams.redis.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

describe('faults mid-flow', () => {
  it('S2S goes on after its Redis connections are killed, and the target holds every record once', async () => {
    const from = streams.name('cut.in');
    const to = streams.name('cut.out');
    const total = 30_000;
    const ids = await streams.seed(from, total);
    const connection = `cut-${process.pid}`;
    const file = configFile(
      [
        'connections:',
        `  ${connection}: { kind: redis-stream, url: "${redisUrl}" }`,
        `control: { url: "${redisUrl}", prefix: ferry-faults-${process.pid} }`,
        'flows:',
        '  s2s:',
        `    source: { connection: ${connection}, stream: ${from} }`,
        `    sink: { connection: ${connection}, stream: ${to} }`,
        '    batchSize: 100',
        '    retry: { retries: 10, initialDelayMs: 50, maxDelayMs: 500 }',
      ].join('\n'),
    );
    const cuts: number[] = [];
    const run = await ferry(['run', file, 's2s'], {
      onSpawn: () => {
        const poll = setInterval(async () => {
          const moved = await streams.len(to);
          if ((cuts.length === 0 && moved >= 3000) || (cuts.length === 1 && moved >= 12_000)) {
            cuts.push(await killConnections(connection));
          }
          if (cuts.length >= 2 || moved >= total) clearInterval(poll);
        }, 5);
      },
    });
    expect(run.code, run.stderr).toBe(0);
    // Each cut hit the flow's two connections (source and sink) while it ran; the second one
    // happens only when the flow is still running when the first is over.
    expect(cuts.length).toBeGreaterThanOrEqual(1);
    expect(cuts.every((killed) => killed === 2)).toBe(true);
    expect(lastLine(run.stdout)).toMatch(/^moved 30000 records .*; stopped: source empty$/);
    expect(await streams.len(from)).toBe(0);
    expect((await streams.entries(to)).map((e) => e._source_id)).toEqual(ids);
  });
});
