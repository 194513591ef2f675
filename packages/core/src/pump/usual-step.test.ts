import { describe, expect, it } from 'vitest';
import type { Source } from '../contracts.js';
import { FatalError, LeaseLostError, RecordRejectedError } from '../errors.js';
import { createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { FlowFailedError, type PumpProgress } from './pump-progress.js';
import { Stop } from './stop-rules.js';
import { recordOf, run, stateOf, traced, values } from './test-support.js';
import { usualStep } from './usual-step.js';

describe('pump order', () => {
  it('checks free room, reads at most that much, writes, and only then acks, batch after batch', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink();
    const t = traced(source, sink);
    const result = await run({ source: t.source, sink: t.sink });
    expect(t.log).toEqual([
      'free Infinity',
      'read 1000',
      'write 1000',
      'ack 1000',
      'free Infinity',
      'read 1000',
      'write 1000',
      'ack 1000',
      'free Infinity',
      'read 500',
      'write 500',
      'ack 500',
      'free Infinity',
      'read 0',
      'release 0',
      'close source',
      'close sink',
    ]);
    expect(result).toMatchObject({ records: 2500, batches: 3, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(2500).map((v) => v.n));
    expect(source.remaining()).toHaveLength(0);
  });
});

describe('pump errors', () => {
  it('stops with the record id when the source cannot decode a record', async () => {
    const source = createMemorySource(values(10));
    const sink = createMemorySink();
    const t = traced(source, sink);
    t.faults.read = () => {
      throw new RecordRejectedError('1700000000000-3', 'not JSON', '[memory] entry 1700000000000-3 is not JSON');
    };
    const failure = await run({ source: t.source, sink: t.sink }).catch((e: unknown) => e);
    expect((failure as Error).message).toContain('[memory] entry 1700000000000-3 is not JSON');
    expect(t.calls.read).toBe(1);
    expect(sink.records).toHaveLength(0);
    expect(source.remaining()).toHaveLength(10);
  });
});

describe('pump usual step', () => {
  it('moves one batch: written, acked, counted and reported', async () => {
    const seen: PumpProgress[] = [];
    const source = createMemorySource(values(5));
    const sink = createMemorySink();
    const state = stateOf({ source, sink, batchSize: 3, onProgress: (p) => seen.push(p) });
    await usualStep(state);
    expect(sink.records.map((r) => r.id)).toEqual(['1', '2', '3']);
    expect(source.remaining().map((r) => r.id)).toEqual(['4', '5']);
    expect(state).toMatchObject({ batches: 1, records: 3, deadLettered: 0 });
    expect(state.bytes).toBe(sink.records.reduce((n, r) => n + r.bytes, 0));
    expect(seen.at(-1)).toMatchObject({ batches: 1, records: 3 });
  });

  it('gives an empty read back, and stops, or reports the wait in follow mode', async () => {
    const source = createMemorySource();
    const t = traced(source, createMemorySink());
    await expect(usualStep(stateOf({ source: t.source, sink: t.sink }))).rejects.toMatchObject({ reason: 'empty' });
    expect(t.log).toEqual(['free Infinity', 'read 0', 'release 0']);
    const seen: PumpProgress[] = [];
    const follow = stateOf({
      source: t.source,
      sink: t.sink,
      stopWhenEmpty: false,
      pollIntervalMs: 1,
      onProgress: (p) => seen.push(p),
    });
    await usualStep(follow);
    expect(seen.map((p) => p.waiting)).toEqual(['empty']);
  });

  it('gives a batch back unwritten when the flow is aborted while it is read', async () => {
    const controller = new AbortController();
    const source = createMemorySource(values(3));
    const t = traced(source, createMemorySink());
    t.faults.read = () => controller.abort();
    const state = stateOf({ source: t.source, sink: t.sink, signal: controller.signal });
    await expect(usualStep(state)).rejects.toBeInstanceOf(Stop);
    expect(t.log).toEqual(['free Infinity', 'read 3', 'release 3']);
    expect((await source.read(3, { waitMs: 0 })).records).toHaveLength(3);
  });

  it('reads one record at a time, without asking for room, while looking for a poison record', async () => {
    const source = createMemorySource(values(3));
    const t = traced(source, createMemorySink());
    const state = stateOf({ source: t.source, sink: t.sink });
    state.careful = 2;
    await usualStep(state);
    expect(t.log).toEqual(['read 1', 'write 1', 'ack 1']);
    expect(state.careful).toBe(1);
  });

  it('keeps a batch whose ack the source lost in doubt, from the position noted before its write', async () => {
    const source = createMemorySource(values(2));
    const lost: Source = {
      ...source,
      ack: async () => {
        throw new LeaseLostError('[memory] channel closed');
      },
    };
    const sink = createMemorySink();
    await sink.write([recordOf('0')]);
    const state = stateOf({ source: lost, sink, journal: createMemoryJournal() });
    await usualStep(state);
    expect([...state.inDoubt]).toEqual([
      ['1', '1'],
      ['2', '1'],
    ]);
    expect(state.lastError).toBe('acking a batch: [memory] channel closed');
    expect(state.batches).toBe(1);
  });

  it('fails the flow on an ack that fails for good, leaving the note for the next run', async () => {
    const source = createMemorySource(values(2));
    const dead: Source = {
      ...source,
      ack: async () => {
        throw new FatalError('[memory] the worker was killed');
      },
    };
    const journal = createMemoryJournal();
    const state = stateOf({ source: dead, sink: createMemorySink(), journal });
    const failing = usualStep(state);
    await expect(failing).rejects.toBeInstanceOf(FlowFailedError);
    await expect(failing).rejects.toThrow(
      '[ferry] flow failed while acking after 0 batches (0 records): [memory] the worker was killed',
    );
    expect(journal.entry).toEqual({ ids: ['1', '2'], attempts: 1, position: '0' });
  });
});
