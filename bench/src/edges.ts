import type { BenchEnd, ConnectorDefinition, Edge, OpenBenchEnd } from '@ferry/core';
import { type BenchCase, checkMoved, type Timed, timedLoop, timedPump } from './bench-case.js';
import { registry } from './connectors.js';

const connectorOf = (letter: string): ConnectorDefinition =>
  registry.list().find((connector) => connector.letter === letter)!;

/**
 * One edge from two ends: the pump moves the source's records with the two
 * connectors; the hand loop reads with the source end's driver calls and
 * writes each batch with the sink end's, acking after the write as the pump
 * does. Both start from a freshly seeded source and an empty target, and
 * both are checked to have moved every record exactly once. The ends are
 * loaded when the edge runs, so that an edge's process holds only its own
 * two ends' bench code.
 */
export function edgeCase(edge: Edge, defaultRecords: number): BenchCase {
  const from = connectorOf(edge.from);
  const to = connectorOf(edge.to);
  const missing = [from, to].find((connector) => connector.bench === undefined);
  if (missing !== undefined) {
    return {
      edge: edge.name,
      kinds: [from.kind, to.kind],
      defaultRecords,
      skipped: `${missing.title} has no bench end`,
      prepare: () => Promise.reject(new Error(`${edge.name}: ${missing.title} has no bench end`)),
    };
  }
  const open = (connector: ConnectorDefinition): Promise<OpenBenchEnd> => connector.bench!();
  return {
    edge: edge.name,
    kinds: [from.kind, to.kind],
    defaultRecords,
    async prepare(ctx) {
      const scope = `${edge.name.toLowerCase()}_${process.pid}_${ctx.round}`;
      const source: BenchEnd = await (await open(from))(ctx, scope);
      const sink: BenchEnd = from === to ? source : await (await open(to))(ctx, scope);
      const run = async (side: string, move: (input: string, output: string) => Promise<Timed>) => {
        const input = `ferry_bench_${scope}_${side}_in`;
        const output = `ferry_bench_${scope}_${side}_out`;
        await sink.fresh(output);
        await source.seed(input, ctx.records);
        const timed = await move(input, output);
        checkMoved(edge.name, ctx.records, timed.records, await source.left(input), await sink.arrived(output));
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
 * Every edge the registry permits but S2S (the reference edge, with its
 * bounded target, in s2s.ts): for the four systems, the ten cross-system
 * ones and Q2Q, M2M, C2C. Taken from the registry so that an edge ferry
 * permits cannot lack a row; one whose connector has no bench end is skipped.
 */
export const edgeCases: readonly BenchCase[] = registry
  .edges()
  .filter((edge) => edge.allowed && edge.name !== 'S2S')
  .map((edge) => edgeCase(edge, longer.has(edge.name) ? 200_000 : 100_000));
