import { createRedisStreamSink, createRedisStreamSource, directMoveScript } from '@ferry/redis-stream';
import { addEntries, seedStream, trimBelow } from '@ferry/redis-stream/bench';
import { Redis } from 'ioredis';
import { type BenchCase, type BenchContext, checkMoved, type Timed, timedLoop, timedPump } from './bench-case.js';

/**
 * The hand-written loop the pump is measured against: the same Redis calls
 * per batch (XLEN on the target, XRANGE, the sink's XADD script, XTRIM of
 * the acked head), with no decoding, no retries and no progress, as a
 * careful user would write it.
 */
async function handLoop(redis: Redis, from: string, to: string, batchSize: number, maxLen: number): Promise<number> {
  let moved = 0;
  for (;;) {
    const length = await redis.xlen(to);
    const room = Math.min(batchSize, maxLen - length);
    if (room <= 0) break;
    const entries = await redis.xrange(from, '-', '+', 'COUNT', room);
    if (entries.length === 0) break;
    await addEntries(redis, to, entries);
    await trimBelow(redis, from, entries[entries.length - 1]![0]);
    moved += entries.length;
  }
  return moved;
}

/**
 * The same-server move by hand: per batch, XLEN of the target and one
 * EVALSHA of the source's move script (which checks the room again inside),
 * the calls the pump makes on that path.
 */
async function scriptLoop(redis: Redis, from: string, to: string, batchSize: number, maxLen: number): Promise<number> {
  const sha = (await redis.script('LOAD', directMoveScript)) as string;
  const receipt = `${from}.receipt`;
  let moved = 0;
  for (let seq = 1; ; seq++) {
    const room = Math.min(batchSize, maxLen - (await redis.xlen(to)));
    if (room <= 0) break;
    const args = [from, to, receipt, room, seq, '1', '_source_id', 60_000, maxLen];
    const [n] = (await redis.evalsha(sha, 3, ...args)) as [number, number, number];
    if (n === 0) break;
    moved += n;
  }
  await redis.del(receipt);
  return moved;
}

/**
 * The reference edge: stream to stream with a bounded target (maxLen), the
 * original worker's job. With `direct` (the source's default) the pump moves
 * each batch inside Redis in one script call, which the hand loop's calls do
 * not; with `direct: false` it reads, writes and acks through the client with
 * the hand loop's calls, the comparison every other edge makes.
 */
function s2sCase(edge: string, direct: boolean, loop = handLoop): BenchCase {
  return {
    edge,
    kinds: ['redis-stream'],
    defaultRecords: 200_000,
    async prepare(ctx: BenchContext) {
      const redis = new Redis(ctx.redisUrl);
      const name = (role: string) =>
        `ferry.bench.s2s.${direct ? 'direct' : 'client'}.${process.pid}.${ctx.round}.${role}`;
      const maxLen = ctx.records * 2;
      const run = async (side: string, move: (from: string, to: string) => Promise<Timed>) => {
        const [from, to] = [name(`${side}-in`), name(`${side}-out`)];
        await redis.del(from, to);
        await seedStream(redis, from, ctx.records);
        const timed = await move(from, to);
        checkMoved('S2S', ctx.records, timed.records, await redis.xlen(from), await redis.xlen(to));
        await redis.del(from, to);
        return timed;
      };
      return {
        pump: () =>
          run('pump', async (from, to) => {
            const source = createRedisStreamSource({ url: ctx.redisUrl, stream: from, mode: 'range', direct });
            const sink = createRedisStreamSink({ url: ctx.redisUrl, stream: to, maxLen });
            return timedPump(source, sink, ctx.batchSize);
          }),
        loop: () => run('loop', (from, to) => timedLoop(() => loop(redis, from, to, ctx.batchSize, maxLen))),
        async close() {
          await redis.quit();
        },
      };
    },
  };
}

export const s2s = s2sCase('S2S', true);
export const s2sClient = s2sCase('S2S (direct: false)', false);
/** The same-server path against the same script called by hand: what the pump costs on that path. */
export const s2sScript = s2sCase('S2S same server (script loop)', true, scriptLoop);
