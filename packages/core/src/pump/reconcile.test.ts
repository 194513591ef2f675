import { describe, expect, it } from 'vitest';
import type { Sink, Source } from '../contracts.js';
import { FatalError, LeaseLostError } from '../errors.js';
import { type BatchJournal, createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource, type MemorySink, type MemorySource } from '../memory.js';
import { dropInDoubt, settleTakenOver } from './reconcile.js';
import { dyingAfter, recordOf, run, stateOf, values } from './test-support.js';

/** A source that marks these records as handed out before, as a Redis group does with entries it claims. */
function redelivering(source: MemorySource, ids: ReadonlySet<string>): Source {
  return {
    ...source,
    name: source.name,
    async read(max, options) {
      const batch = await source.read(max, options);
      return { ...batch, records: batch.records.map((r) => (ids.has(r.id) ? { ...r, redelivered: true } : r)) };
    },
  };
}

describe('pump when the source loses its hold on a batch', () => {
  /** A source whose second ack finds the channel gone: the broker puts the batch back. */
  function losing(source: MemorySource): Source {
    let acks = 0;
    return {
      ...source,
      ack: async (batch) => {
        acks += 1;
        if (acks === 2) {
          await source.release(batch as never);
          throw new LeaseLostError('[memory] channel closed: the broker requeued the batch');
        }
        await source.ack(batch as never);
      },
    };
  }

  it('writes the redelivered batch only once where the sink can tell', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const errors: string[] = [];
    const result = await run({
      source: losing(source),
      sink,
      onProgress: (p) => {
        if (p.lastError !== undefined) errors.push(p.lastError);
      },
    });
    expect(result).toMatchObject({ records: 3000, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
    expect(source.remaining()).toHaveLength(0);
    expect(errors[0]).toBe('acking a batch: [memory] channel closed: the broker requeued the batch');
  });

  it('writes it again where the sink cannot tell (at-least-once), losing nothing', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const blind: Sink = { ...sink, reconcile: undefined };
    const result = await run({ source: losing(source), sink: blind });
    expect(result.stopReason).toBe('empty');
    expect(sink.records).toHaveLength(4000);
    expect(new Set(sink.records.map((r) => r.id)).size).toBe(3000);
  });
});

describe('pump with redelivered records', () => {
  it('asks the sink about records the source says it handed out before, and writes only the missing', async () => {
    const source = createMemorySource(values(10));
    const sink = createMemorySink();
    // A previous run wrote the first four, then died before its ack.
    const first = await source.read(4, { waitMs: 0 });
    await sink.write(first.records);
    await source.release(first);
    const redelivering: Source = {
      ...source,
      read: async (max, options) => {
        const batch = await source.read(max, options);
        return { ...batch, records: batch.records.map((r) => (Number(r.id) <= 6 ? { ...r, redelivered: true } : r)) };
      },
    };
    const result = await run({ source: redelivering, sink });
    expect(result).toMatchObject({ records: 6, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(10).map((v) => v.n));
  });
});

describe('pump with a sink that tells its position', () => {
  it("reconciles a batch taken over from a reader that died from that reader's note, then removes the note", async () => {
    const notes = new Map<string, string>();
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const dead = createMemoryJournal(notes, 'reader-a');
    await expect(run({ source, sink: dyingAfter(sink, 2), journal: dead })).rejects.toThrow(/the worker was killed/);
    expect(notes.has('reader-a')).toBe(true);

    // Another reader gets the dead one's records back, marked as handed out before.
    const inDoubt = new Set(dead.entry!.ids);
    const other = createMemoryJournal(notes, 'reader-b');
    const again = await run({ source: redelivering(source, inDoubt), sink, journal: other });
    expect(again).toMatchObject({ records: 1000, stopReason: 'empty' });
    expect(new Set(sink.records.map((r) => r.id)).size).toBe(3000);
    expect(sink.records).toHaveLength(3000);
    expect(sink.examined).toBe(1000);
    // Every record of the dead reader's note is acked: the note is settled.
    expect([...notes.keys()]).toEqual([]);
  });

  it("leaves another reader's note that changed since it was read: that reader is alive", async () => {
    const notes = new Map<string, string>();
    const alive = createMemoryJournal(notes, 'reader-a');
    const other = createMemoryJournal(notes, 'reader-b');
    await alive.begin({ ids: ['1', '2'], attempts: 1, position: '0' });
    const [note] = await other.notesOf!(['1']);
    await alive.begin({ ids: ['3'], attempts: 1, position: '2' });
    await other.settle!(note!);
    expect(alive.entry).toEqual({ ids: ['3'], attempts: 1, position: '2' });
  });
});

describe('pump reconcile step', () => {
  /** A memory sink whose reconcile calls are logged: the ids asked about, and from where. */
  function asked(sink: MemorySink) {
    const calls: [string[], string | undefined][] = [];
    const spy: Sink = {
      ...sink,
      name: sink.name,
      reconcile: (records, since) => {
        calls.push([records.map((r) => r.id), since]);
        return sink.reconcile!(records, since);
      },
    };
    return { sink: spy, calls };
  }

  it('asks the sink nothing when no record may be there', async () => {
    const { sink, calls } = asked(createMemorySink());
    const state = stateOf({ source: createMemorySource(), sink });
    const batch = [recordOf('1'), recordOf('2')];
    expect(await dropInDoubt(state, batch)).toBe(batch);
    expect(calls).toEqual([]);
  });

  it('drops what the sink holds, looking for each record from the position noted with it', async () => {
    const memory = createMemorySink();
    await memory.write(['1', '2', '3', '4'].map((id) => recordOf(id)));
    const { sink, calls } = asked(memory);
    const state = stateOf({ source: createMemorySource(), sink });
    state.inDoubt.set('1', '0');
    state.inDoubt.set('3', '2');
    const batch = [recordOf('1'), recordOf('3'), recordOf('5', { redelivered: true }), recordOf('6')];
    const left = await dropInDoubt(state, batch);
    expect(left.map((r) => r.id)).toEqual(['5', '6']);
    expect(calls).toEqual([
      [['1'], '0'],
      [['3'], '2'],
      [['5'], undefined],
    ]);
    expect(state.inDoubt.size).toBe(0);
  });

  it('without a reconcile, writes them all again and forgets they were in doubt', async () => {
    const state = stateOf({ source: createMemorySource(), sink: { ...createMemorySink(), reconcile: undefined } });
    state.inDoubt.set('1', '0');
    const batch = [recordOf('1'), recordOf('2', { redelivered: true })];
    expect(await dropInDoubt(state, batch)).toBe(batch);
    expect(state.inDoubt.size).toBe(0);
  });

  it("takes over a dead reader's note for its position, and settles it once all its records are acked here", async () => {
    const notes = new Map<string, string>();
    await createMemoryJournal(notes, 'reader-a').begin({ ids: ['1', '2'], attempts: 1, position: '3' });
    const { sink, calls } = asked(createMemorySink());
    const state = stateOf({ source: createMemorySource(), sink, journal: createMemoryJournal(notes, 'reader-b') });
    const again = [recordOf('1', { redelivered: true }), recordOf('2', { redelivered: true })];
    await dropInDoubt(state, again);
    expect(calls).toEqual([[['1', '2'], '3']]);
    expect([...state.takenOver.keys()]).toEqual(['reader-a']);

    await settleTakenOver(state, [again[0]!]);
    expect(notes.has('reader-a')).toBe(true);
    await settleTakenOver(state, [again[1]!]);
    expect(notes.has('reader-a')).toBe(false);
    expect(state.takenOver.size).toBe(0);
  });

  it('keeps a note it could not settle as the last error, for `ferry doctor` to list', async () => {
    const notes = new Map<string, string>();
    await createMemoryJournal(notes, 'reader-a').begin({ ids: ['1'], attempts: 1 });
    const journal: BatchJournal = {
      ...createMemoryJournal(notes, 'reader-b'),
      settle: async () => {
        throw new FatalError('[redis] READONLY');
      },
    };
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), journal });
    await dropInDoubt(state, [recordOf('1', { redelivered: true })]);
    await settleTakenOver(state, [recordOf('1')]);
    expect(state.lastError).toBe('settling the journal note of reader reader-a: [redis] READONLY');
    expect(state.takenOver.size).toBe(0);
  });
});
