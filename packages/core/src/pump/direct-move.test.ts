import { describe, expect, it } from 'vitest';
import type { DirectMove, Source } from '../contracts.js';
import { FatalError } from '../errors.js';
import { createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource, type MemorySink, type MemorySource } from '../memory.js';
import { directStep } from './direct-move.js';
import type { BatchMoved, PumpProgress } from './pump-progress.js';
import { Stop } from './stop-rules.js';
import { run, stateOf, traced, values } from './test-support.js';

describe('pump with a direct path from source to sink', () => {
  /**
   * A source that can move its records straight into a memory sink, as one
   * server-side step would. With a `bound`, the move checks the sink's length
   * against it in that step, as a script reading the length would: stricter
   * than what the sink's free() says, as when another writer took the room since.
   */
  function withDirect(source: MemorySource, sink: MemorySink, bound = Number.POSITIVE_INFINITY) {
    const moves: number[] = [];
    const directSource: Source = {
      ...source,
      name: source.name,
      directTo: (target) =>
        target === sink
          ? {
              name: 'memory move',
              move: async (max) => {
                const room = bound - sink.records.length;
                if (room <= 0) return { records: 0, bytes: 0, full: true };
                const batch = await source.read(Math.min(max, room), { waitMs: 0 });
                await sink.write(batch.records);
                await source.ack(batch);
                moves.push(batch.records.length);
                return { records: batch.records.length, bytes: batch.records.reduce((n, r) => n + r.bytes, 0) };
              },
            }
          : undefined,
    };
    return { source: directSource, moves };
  }

  it('moves every batch the direct way, capped by the free room, and says so in progress', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink({ maxLen: 2200 });
    const d = withDirect(source, sink);
    const result = await run({ source: d.source, sink, whenFull: 'stop' });
    expect(result).toMatchObject({ records: 2200, batches: 3, stopReason: 'full', direct: 'memory move' });
    expect(d.moves).toEqual([1000, 1000, 200]);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(2200).map((v) => v.n));
    expect(source.remaining()).toHaveLength(300);
  });

  it('tells onBatch of each move, its records and how long the move took', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink();
    const d = withDirect(source, sink);
    const batches: BatchMoved[] = [];
    const result = await run({ source: d.source, sink, onBatch: (b) => batches.push(b) });
    expect(batches.map((b) => b.records)).toEqual([1000, 1000, 500]);
    expect(batches).toHaveLength(result.batches);
    for (const b of batches) expect(b.writeMs).toBeGreaterThanOrEqual(0);
  });

  it('stops after maxBatches and when the source is empty, as the usual path does', async () => {
    const source = createMemorySource(values(3500));
    const sink = createMemorySink();
    const d = withDirect(source, sink);
    expect(await run({ source: d.source, sink, maxBatches: 2 })).toMatchObject({
      records: 2000,
      stopReason: 'maxBatches',
    });
    expect(await run({ source: d.source, sink })).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(d.moves).toEqual([1000, 1000, 1000, 500, 0]);
    expect(sink.records).toHaveLength(3500);
  });

  it('a move that finds the sink full stops the flow as a full sink does (whenFull stop)', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink();
    const d = withDirect(source, sink, 2200);
    const result = await run({ source: d.source, sink, whenFull: 'stop' });
    expect(result).toMatchObject({ records: 2200, batches: 3, stopReason: 'full', direct: 'memory move' });
    expect(d.moves).toEqual([1000, 1000, 200]);
    expect(source.remaining()).toHaveLength(300);
  });

  it('a move that finds the sink full waits (whenFull wait), and goes on once there is room', async () => {
    const source = createMemorySource(values(1500));
    const sink = createMemorySink();
    const d = withDirect(source, sink, 1000);
    const waits: number[] = [];
    const result = await run({
      source: d.source,
      sink,
      pollIntervalMs: 10,
      onProgress: (p) => {
        if (p.waiting !== 'full') return;
        waits.push(p.records);
        // A consumer of the target takes what is there.
        sink.records.splice(0, sink.records.length);
      },
    });
    expect(result).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(waits).toEqual([1000]);
    expect(d.moves).toEqual([1000, 500, 0]);
  });

  it('takes the usual path for a batch left in doubt, so the sink is asked about it, then goes direct', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const journal = createMemoryJournal();
    const t = traced(source, sink);
    t.faults.ack = (call) => {
      if (call === 1) throw new FatalError('[memory] the worker was killed');
    };
    await expect(run({ source: t.source, sink: t.sink, journal })).rejects.toThrow(/the worker was killed/);
    expect(sink.records).toHaveLength(1000);

    const d = withDirect(source, sink);
    const again = await run({ source: d.source, sink, journal });
    expect(again).toMatchObject({ records: 2000, stopReason: 'empty' });
    expect(d.moves).toEqual([1000, 1000, 0]);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
  });
});

describe('pump direct move step', () => {
  const moving = (move: DirectMove['move']): DirectMove => ({ name: 'memory script', move });
  const nothing = moving(async () => ({ records: 0, bytes: 0 }));

  it('moves at most the sink’s room, and counts and reports what moved', async () => {
    const seen: PumpProgress[] = [];
    const maxes: number[] = [];
    const sink = createMemorySink({ maxLen: 300 });
    const state = stateOf({ source: createMemorySource(), sink, batchSize: 500, onProgress: (p) => seen.push(p) });
    await directStep(
      state,
      moving(async (max) => {
        maxes.push(max);
        return { records: 250, bytes: 1000 };
      }),
    );
    expect(maxes).toEqual([300]);
    expect(state).toMatchObject({ batches: 1, records: 250, bytes: 1000 });
    expect(seen.at(-1)).toMatchObject({ batches: 1, records: 250 });
  });

  it('stops when nothing moved from an empty source, or waits a poll interval in follow mode', async () => {
    const source = createMemorySource();
    const sink = createMemorySink();
    await expect(directStep(stateOf({ source, sink }), nothing)).rejects.toMatchObject({ reason: 'empty' });
    const seen: PumpProgress[] = [];
    const follow = stateOf({ source, sink, stopWhenEmpty: false, pollIntervalMs: 20, onProgress: (p) => seen.push(p) });
    const started = performance.now();
    await directStep(follow, nothing);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(seen.map((p) => p.waiting)).toEqual(['empty']);
  });

  it('takes a move that found no room as a full sink', async () => {
    const full = moving(async () => ({ records: 0, bytes: 0, full: true }));
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), whenFull: 'stop' });
    await expect(directStep(state, full)).rejects.toBeInstanceOf(Stop);
    await expect(directStep(state, full)).rejects.toMatchObject({ reason: 'full' });
  });

  it('fails the flow naming the path when a move fails for good', async () => {
    const broken = moving(async () => {
      throw new FatalError('[redis-stream] NOSCRIPT');
    });
    await expect(
      directStep(stateOf({ source: createMemorySource(), sink: createMemorySink() }), broken),
    ).rejects.toThrow(
      '[ferry] flow failed while moving (memory script) after 0 batches (0 records): [redis-stream] NOSCRIPT',
    );
  });

  it('takes one usual step when the move says the next record must go the usual way', async () => {
    const source = createMemorySource(values(3));
    const sink = createMemorySink();
    const state = stateOf({ source, sink, batchSize: 2 });
    await directStep(
      state,
      moving(async () => ({ records: 0, bytes: 0, usual: true })),
    );
    expect(sink.records.map((r) => r.id)).toEqual(['1', '2']);
    expect(source.remaining()).toHaveLength(1);
    expect(state.batches).toBe(1);
  });
});
