import { edgeMatrix } from '@ferry/core';
import { type BenchCase, checkMoved, type Timed, timedLoop, timedPump } from './bench-case.js';
import type { End, OpenEnd } from './end.js';

/**
 * Loaded when an edge needs them: an edge's process then holds only its two
 * drivers, as a worker running that flow would, and its peak RSS says what
 * the flow costs rather than what the other drivers' code weighs.
 */
const ends: Record<string, () => Promise<OpenEnd>> = {
  S: async () => (await import('./redis-end.js')).openRedisEnd,
  Q: async () => (await import('./rabbit-end.js')).openRabbitEnd,
  M: async () => (await import('./mongo-end.js')).openMongoEnd,
  C: async () => (await import('./clickhouse-end.js')).openClickHouseEnd,
};

/**
 * One edge from two ends: the pump moves the source's records with the two
 * connectors; the hand loop reads with the source end's driver calls and
 * writes each batch with the sink end's, acking after the write as the pump
 * does. Both start from a freshly seeded source and an empty target, and
 * both are checked to have moved every record exactly once.
 */
export function edgeCase(edge: string, defaultRecords: number): BenchCase {
  const [from, to] = edge.split('2') as [string, string];
  const loadFrom = ends[from];
  const loadTo = ends[to];
  if (loadFrom === undefined || loadTo === undefined) throw new Error(`bench: no end for ${edge}`);
  return {
    edge,
    defaultRecords,
    async prepare(ctx) {
      const scope = `${edge.toLowerCase()}_${process.pid}_${ctx.round}`;
      const source: End = await (await loadFrom())(ctx, scope);
      const sink: End = from === to ? source : await (await loadTo())(ctx, scope);
      const run = async (side: string, move: (input: string, output: string) => Promise<Timed>) => {
        const input = `ferry_bench_${scope}_${side}_in`;
        const output = `ferry_bench_${scope}_${side}_out`;
        await sink.fresh(output);
        await source.seed(input, ctx.records);
        const timed = await move(input, output);
        checkMoved(edge, ctx.records, timed.records, await source.left(input), await sink.arrived(output));
        await source.drop(input);
        await sink.drop(output);
        return timed;
      };
      return {
        pump: () => run('pump', (input, output) => timedPump(source.source(input), sink.sink(output), ctx.batchSize)),
        loop: () =>
          run('loop', (input, output) => {
            const write = sink.writer(output);
            return timedLoop(() => source.drain(input, ctx.batchSize, ctx.records, write));
          }),
        async close() {
          await source.close();
          if (sink !== source) await sink.close();
        },
      };
    },
  };
}

/** Edges fast enough that 200,000 records make a run of a few seconds; the others move 100,000. */
const longer = new Set(['S2C', 'C2S', 'C2C']);

/**
 * Every permitted edge of core's matrix but S2S (the reference edge, with its
 * bounded target, in s2s.ts): the ten cross-system ones and Q2Q, M2M, C2C.
 * Taken from the matrix so that an edge ferry permits cannot lack a bench.
 */
export const edgeCases: readonly BenchCase[] = edgeMatrix()
  .filter((edge) => edge.allowed && edge.name !== 'S2S')
  .map((edge) => edgeCase(edge.name, longer.has(edge.name) ? 200_000 : 100_000));
