import { describe, expect, it } from 'vitest';
import { FatalError } from '../errors.js';
import { type BatchJournal, createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { clearNote, noteBatch, recallInDoubt } from './journal-steps.js';
import { dyingAfter, recordOf, run, stateOf, traced, values } from './test-support.js';

describe('pump with a batch journal', () => {
  it('notes each batch between write and ack, and a restarted flow does not write the batch in doubt twice', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const journal = createMemoryJournal();
    const t = traced(source, sink);
    // The first run dies after the second batch is written, before its ack lands.
    t.faults.ack = (call) => {
      if (call === 2) throw new FatalError('[memory] the worker was killed');
    };
    await expect(run({ source: t.source, sink: t.sink, journal })).rejects.toThrow(/the worker was killed/);
    expect(sink.records).toHaveLength(2000);
    expect(journal.entry).toEqual({ ids: values(1000, 1000).map((_, i) => String(1001 + i)), attempts: 1 });

    // The source gives the batch back as a plain re-read: only the journal knows it is in doubt.
    const again = await run({ source, sink, journal });
    expect(again).toMatchObject({ records: 1000, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
    expect(journal.entry).toBeUndefined();
  });

  it('without a journal the same crash writes that batch twice: at-least-once', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const t = traced(source, sink);
    t.faults.ack = (call) => {
      if (call === 2) throw new FatalError('[memory] the worker was killed');
    };
    await expect(run({ source: t.source, sink: t.sink })).rejects.toThrow(/the worker was killed/);
    await run({ source, sink });
    expect(sink.records).toHaveLength(4000);
    expect(new Set(sink.records.map((r) => r.id)).size).toBe(3000);
  });
});

describe('pump with a sink that tells its position', () => {
  it('notes the position with each batch before writing it; the restart looks for the batch in doubt from there', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const journal = createMemoryJournal();
    await expect(run({ source, sink: dyingAfter(sink, 2), journal })).rejects.toThrow(/the worker was killed/);
    expect(sink.records).toHaveLength(2000);
    expect(journal.entry).toEqual({ ids: values(1000).map((_, i) => String(1001 + i)), attempts: 1, position: '1000' });

    const again = await run({ source, sink, journal });
    expect(again).toMatchObject({ records: 1000, stopReason: 'empty' });
    expect(sink.records.map((r) => r.id)).toEqual(values(3000).map((_, i) => String(1 + i)));
    // Only what was written after the noted position was looked at, not the batch before it.
    expect(sink.examined).toBe(1000);
    expect(journal.entry).toBeUndefined();
  });
});

describe('pump journal steps', () => {
  const batch = { records: [recordOf('1'), recordOf('2')], handle: ['1', '2'] };

  it('does nothing without a journal', async () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    await recallInDoubt(state);
    expect(await noteBatch(state, batch, 1)).toBeUndefined();
    await clearNote(state);
    expect(state).toMatchObject({ prior: undefined, careful: 0, lastError: undefined });
    expect(state.inDoubt.size).toBe(0);
  });

  it('recalls the batch an earlier run left in doubt: its records in doubt from its position, read one at a time as noted', async () => {
    const journal = createMemoryJournal();
    await journal.begin({ ids: ['1', '2'], attempts: 2, span: 2, position: '7' });
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), journal });
    await recallInDoubt(state);
    expect(state.prior).toEqual({ ids: ['1', '2'], attempts: 2, span: 2, position: '7' });
    expect([...state.inDoubt]).toEqual([
      ['1', '7'],
      ['2', '7'],
    ]);
    expect(state.careful).toBe(2);
  });

  it('fails the flow when the journal cannot be read', async () => {
    const journal: BatchJournal = {
      ...createMemoryJournal(),
      inDoubt: async () => {
        throw new FatalError('[redis] NOAUTH');
      },
    };
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), journal });
    await expect(recallInDoubt(state)).rejects.toThrow(
      '[ferry] flow failed while reading the journal after 0 batches (0 records): [redis] NOAUTH',
    );
  });

  it('notes a batch with its attempt, the sink’s position, and how many records are left to read one at a time', async () => {
    const journal = createMemoryJournal();
    const sink = createMemorySink();
    await sink.write([recordOf('0')]);
    const state = stateOf({ source: createMemorySource(), sink, journal });
    state.careful = 2;
    const entry = await noteBatch(state, batch, 3);
    expect(entry).toEqual({ ids: ['1', '2'], attempts: 3, span: 2, position: '1' });
    expect(journal.entry).toEqual(entry);

    const blind = stateOf({ source: createMemorySource(), sink: { ...sink, position: undefined }, journal });
    expect(await noteBatch(blind, batch, 1)).toEqual({ ids: ['1', '2'], attempts: 1 });
  });

  it('clears the note after the ack; a note that cannot be cleared is only reported', async () => {
    const journal = createMemoryJournal();
    await journal.begin({ ids: ['1'], attempts: 1 });
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), journal });
    await clearNote(state);
    expect(journal.entry).toBeUndefined();

    const stuck: BatchJournal = {
      ...journal,
      end: async () => {
        throw new FatalError('[redis] READONLY');
      },
    };
    const reported = stateOf({ source: createMemorySource(), sink: createMemorySink(), journal: stuck });
    await clearNote(reported);
    expect(reported.lastError).toBe('clearing the journal: [redis] READONLY');
  });
});
