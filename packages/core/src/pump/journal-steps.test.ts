import { describe, expect, it } from 'vitest';
import { FatalError } from '../errors.js';
import { createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { dyingAfter, run, traced, values } from './test-support.js';

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
