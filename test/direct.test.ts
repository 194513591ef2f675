import { afterAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// S2S on one Redis moves each batch inside Redis (one script call: read, add,
// delete); `ferry run --json` says which path a flow took.

const streams = new TestStreams();
afterAll(() => streams.cleanup());

function config(from: string, to: string, source = '', sinkUrl = redisUrl): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  other: { kind: redis-stream, url: "${sinkUrl}" }`,
      'flows:',
      '  s2s:',
      `    source: { connection: default, stream: ${from}${source} }`,
      `    sink: { connection: other, stream: ${to}, maxLen: 100000 }`,
      '    batchSize: 1000',
    ].join('\n'),
  );
}

describe('ferry run, S2S on one Redis', () => {
  it('takes the same-server path, says so in --json, and moves every record once with its source id', async () => {
    const [from, to] = [streams.name('direct.in'), streams.name('direct.out')];
    const ids = await streams.seed(from, 12_345);
    const run = await ferry(['run', config(from, to), 's2s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(lastLine(run.stdout))).toMatchObject({
      edge: 'S2S',
      records: 12_345,
      batches: 13,
      stopReason: 'empty',
      direct: 'same-server script',
    });
    expect(await streams.len(from)).toBe(0);
    const out = await streams.entries(to);
    expect(out.map((e) => e._source_id)).toEqual(ids);
    expect(out[321]).toEqual({ n: '321', name: 'msg-321', tags: '["e2e"]', _source_id: ids[321] });
  });

  it.each([
    ['with direct: false', ', direct: false', redisUrl],
    ['to another database of the same server', '', `${redisUrl}/1`],
  ])('takes the usual path %s', async (_label, source, sinkUrl) => {
    const [from, to] = [streams.name('usual.in'), streams.name('usual.out')];
    await streams.seed(from, 2500);
    const run = await ferry(['run', config(from, to, source, sinkUrl), 's2s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(lastLine(run.stdout));
    expect(result).toMatchObject({ records: 2500, stopReason: 'empty' });
    expect(result.direct).toBeUndefined();
    expect(await streams.len(from)).toBe(0);
    if (sinkUrl === redisUrl) expect(await streams.len(to)).toBe(2500);
    else {
      const db1 = streams.redis.duplicate({ db: 1 });
      expect(await db1.xlen(to)).toBe(2500);
      await db1.del(to);
      db1.disconnect();
    }
  });
});
