import { describe, expect, it } from 'vitest';
import type { Sink } from '../contracts.js';
import { ConnectionError, FatalError } from '../errors.js';
import { type BatchJournal, createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource, type MemorySink } from '../memory.js';
import { attemptOf, carefulSpan, givenUp, settleAttempts, uncount } from './attempts.js';
import { FlowFailedError } from './pump-progress.js';
import { recordOf, run, stateOf, values } from './test-support.js';

describe('pump with a record that fails every attempt, from a source that keeps no delivery count', () => {
  /** A sink whose writes fail whenever the batch holds the record with value n = `bad`. */
  function failingOn(sink: MemorySink, bad: number, error: () => Error): Sink {
    return {
      ...sink,
      name: sink.name,
      write: async (records) => {
        if (records.some((r) => r.value.n === bad)) throw error();
        return sink.write(records);
      },
    };
  }

  /** Runs the flow again after each failure, as a restarted worker would, until it ends; counts the runs. */
  async function untilDone(options: Parameters<typeof run>[0], most = 20) {
    for (let runs = 1; runs <= most; runs += 1) {
      try {
        return { result: await run(options), runs };
      } catch (error) {
        if (!(error instanceof FlowFailedError)) throw error;
      }
    }
    throw new Error(`still failing after ${most} runs`);
  }

  it('after maxAttempts reads the batch one record at a time, and dead-letters the record after maxAttempts more', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    const journal = createMemoryJournal();
    const killer = failingOn(sink, 1500, () => new FatalError('[memory] the worker was killed'));

    const { result, runs } = await untilDone({ source, sink: killer, deadLetter, journal, maxAttempts: 3 });
    // 3 failed runs of the whole batch, 3 of the record alone, then the run that sets it aside.
    expect(runs).toBe(7);
    expect(result.stopReason).toBe('empty');
    expect(sink.records.map((r) => r.value.n)).toEqual(
      values(3000)
        .filter((v) => v.n !== 1500)
        .map((v) => v.n),
    );
    expect(deadLetter.records).toHaveLength(1);
    expect(deadLetter.records[0]!.value).toMatchObject({
      sourceId: '1501',
      attempts: 3n,
      reason: expect.stringContaining('written 3 times without being acknowledged (maxAttempts 3)'),
    });
    expect(JSON.parse(Buffer.from(deadLetter.records[0]!.value.original as Uint8Array).toString())).toEqual({
      n: 1500,
      text: 'message 1500',
    });
    expect(source.remaining()).toHaveLength(0);
    expect(journal.entry).toBeUndefined();
  });

  it('without a dead-letter sink, stops naming the record instead of trying it forever, and acks nothing of it', async () => {
    const source = createMemorySource(values(1000));
    const sink = createMemorySink();
    const journal = createMemoryJournal();
    const killer = failingOn(sink, 10, () => new FatalError('[memory] the worker was killed'));
    const errors: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      await run({ source, sink: killer, journal, maxAttempts: 2 }).catch((error: Error) => errors.push(error.message));
    }
    expect(errors.at(-1)).toMatch(
      /record 11 rejected: written 2 times without being acknowledged \(maxAttempts 2\).*no dead-letter sink is set/,
    );
    // Read one at a time, the records before it were written and acked; it and the rest wait at the source.
    expect(sink.records.map((r) => r.value.n)).toEqual(values(10).map((v) => v.n));
    expect(source.remaining()[0]!.value.n).toBe(10);
  });

  it('does not count writes that failed because the sink was away: a long outage dead-letters nothing', async () => {
    const source = createMemorySource(values(2000));
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    const journal = createMemoryJournal();
    let away = true;
    const flaky: Sink = {
      ...sink,
      name: sink.name,
      write: async (records) => {
        if (away) throw new ConnectionError('[memory] connection refused');
        return sink.write(records);
      },
    };
    for (let i = 0; i < 8; i += 1) {
      await expect(run({ source, sink: flaky, deadLetter, journal, maxAttempts: 2 })).rejects.toThrow(
        /connection refused/,
      );
    }
    expect(journal.entry).toMatchObject({ attempts: 0 });
    away = false;
    const result = await run({ source, sink: flaky, deadLetter, journal, maxAttempts: 2 });
    expect(result).toMatchObject({ records: 2000, batches: 2, deadLettered: 0 });
    expect(deadLetter.records).toHaveLength(0);
  });
});

describe('pump attempts', () => {
  const batchOf = (...ids: string[]) => ({ records: ids.map((id) => recordOf(id)), handle: ids });
  const state = (options: { maxAttempts?: number; journal?: BatchJournal } = {}) =>
    stateOf({ source: createMemorySource(), sink: createMemorySink(), ...options });

  it('counts a batch as one more attempt of the note an earlier run left only when it is that batch again', () => {
    const s = state();
    expect(attemptOf(s, batchOf('1', '2'))).toBe(1);
    s.prior = { ids: ['1', '2'], attempts: 3 };
    expect(attemptOf(s, batchOf('1', '2'))).toBe(4);
    expect(attemptOf(s, batchOf('1'))).toBe(1);
    expect(attemptOf(s, batchOf('2', '3'))).toBe(1);
  });

  it('gives up a record read alone once it is past maxAttempts, with how often it was written', () => {
    const s = state({ maxAttempts: 3 });
    expect(givenUp(s, batchOf('7'), 3)).toEqual([]);
    expect(givenUp(s, batchOf('7', '8'), 4)).toEqual([]);
    const [rejected, ...more] = givenUp(s, batchOf('7'), 4);
    expect(more).toEqual([]);
    expect(rejected).toMatchObject({
      id: '7',
      attempts: 3,
      reason:
        'written 3 times without being acknowledged (maxAttempts 3): ' +
        'each attempt ended with the worker stopped or the write failed',
    });
  });

  it('reads one record at a time as long as the note says, or the whole batch once it failed maxAttempts times', () => {
    expect(carefulSpan(undefined, 3)).toBeUndefined();
    expect(carefulSpan({ ids: ['1', '2'], attempts: 2 }, 3)).toBeUndefined();
    expect(carefulSpan({ ids: ['1', '2'], attempts: 3 }, 3)).toBe(2);
    expect(carefulSpan({ ids: ['1'], attempts: 3 }, 3)).toBeUndefined();
    expect(carefulSpan({ ids: ['2'], attempts: 1, span: 4 }, 3)).toBe(4);
  });

  it('once a batch is acked, forgets the earlier note and counts the records read one at a time down', () => {
    const s = state();
    s.prior = { ids: ['1'], attempts: 2 };
    s.careful = 5;
    const rejected = [{ id: '2', reason: 'bad', raw: new Uint8Array() }];
    settleAttempts(s, { ...batchOf('1'), rejected });
    expect(s).toMatchObject({ prior: undefined, careful: 3 });
    settleAttempts(s, batchOf('3', '4', '5', '6'));
    expect(s.careful).toBe(0);
  });

  it('takes back the attempt of a write that failed because a server was away, unless the journal is away too', async () => {
    const journal = createMemoryJournal();
    await uncount(state({ journal }), { ids: ['1'], attempts: 2, position: '5' });
    expect(journal.entry).toEqual({ ids: ['1'], attempts: 1, position: '5' });
    const away: BatchJournal = {
      ...journal,
      begin: async () => {
        throw new ConnectionError('[redis] connection refused');
      },
    };
    await expect(uncount(state({ journal: away }), { ids: ['1'], attempts: 1 })).resolves.toBeUndefined();
  });
});
