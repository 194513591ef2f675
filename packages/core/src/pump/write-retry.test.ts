import { describe, expect, it } from 'vitest';
import type { Sink } from '../contracts.js';
import { ConnectionError, FatalError, RecordRejectedError, TransientError } from '../errors.js';
import { createMemoryJournal } from '../journal.js';
import { createMemorySink, createMemorySource, type MemorySink } from '../memory.js';
import { rejectRecord } from '../record.js';
import { FlowFailedError } from './pump-progress.js';
import { recordOf, run, stateOf, traced, values } from './test-support.js';
import { writeWithReconcile } from './write-retry.js';

describe('pump errors', () => {
  it('retries a transient write error, then succeeds without writing any record twice', async () => {
    const source = createMemorySource(values(1500));
    const sink = createMemorySink();
    const t = traced(source, sink);
    // The first write lands 300 records and then loses the connection.
    t.sink.write = async (records) => {
      t.calls.write += 1;
      if (t.calls.write === 1) {
        await sink.write(records.slice(0, 300));
        throw new ConnectionError('[memory] connection reset');
      }
      if (t.calls.write === 2) throw new TransientError('[memory] busy');
      await sink.write(records);
    };
    const errors: string[] = [];
    const result = await run({
      source: t.source,
      sink: t.sink,
      onProgress: (p) => {
        if (p.lastError !== undefined && !errors.includes(p.lastError)) errors.push(p.lastError);
      },
    });
    expect(result).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(1500).map((v) => v.n));
    expect(errors[0]).toMatch(/^writing a batch: \[memory\] connection reset \(retry 1 in \d+ ms\)$/);
    expect(errors[1]).toMatch(/^writing a batch: \[memory\] busy \(retry 2/);
  });

  it('stops the flow on a fatal write error and acks nothing of that batch', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink();
    const t = traced(source, sink);
    t.faults.write = (call) => {
      if (call === 2) throw new FatalError('[memory] WRONGTYPE the target is not a stream');
    };
    const failure = await run({ source: t.source, sink: t.sink }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FlowFailedError);
    const error = failure as FlowFailedError;
    expect(error.message).toBe(
      '[ferry] flow failed while writing after 1 batches (1000 records): [memory] WRONGTYPE the target is not a stream',
    );
    expect(error.cause).toBeInstanceOf(FatalError);
    expect(error.progress.records).toBe(1000);
    expect(t.calls.write).toBe(2);
    expect(t.log.filter((l) => l.startsWith('ack'))).toEqual(['ack 1000']);
    expect(t.log.slice(-3)).toEqual(['release 1000', 'close source', 'close sink']);
    expect(source.remaining()).toHaveLength(1500);
  });
});

describe('pump with a sink that tells its position', () => {
  it('retries a failed write from the position noted for it, so a write that landed in part is not doubled', async () => {
    const source = createMemorySource(values(2000));
    const sink = createMemorySink();
    const calls: (string | undefined)[] = [];
    let writes = 0;
    const flaky: Sink = {
      ...sink,
      name: sink.name,
      position: () => sink.position!(),
      async reconcile(records, since) {
        calls.push(since);
        return sink.reconcile!(records, since);
      },
      async write(records) {
        writes += 1;
        // The second batch lands in half, then the connection drops.
        if (writes === 2) {
          await sink.write(records.slice(0, 500));
          throw new ConnectionError('[memory] connection reset');
        }
        await sink.write(records);
      },
    };
    const result = await run({ source, sink: flaky, journal: createMemoryJournal() });
    expect(result).toMatchObject({ records: 2000, stopReason: 'empty' });
    expect(calls).toEqual(['1000']);
    expect(sink.records.map((r) => r.id)).toEqual(values(2000).map((_, i) => String(1 + i)));
  });
});

describe('pump when the sink fails a whole batch for one record', () => {
  /** A sink that, like Redis's, refuses a batch before any of it lands when one record cannot be written. */
  function picky(sink: MemorySink): Sink {
    return {
      ...sink,
      write: async (records) => {
        const bad = records.find((r) => r.value.bad === true);
        if (bad !== undefined) {
          throw new RecordRejectedError(
            bad.id,
            'the value has no fields',
            `[memory] record ${bad.id} cannot be written`,
          );
        }
        await sink.write(records);
      },
    };
  }
  const input = [...values(3), { bad: true }, ...values(3, 3), { bad: true }];

  it('sets the record aside for the dead-letter sink and writes the rest', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    const result = await run({ source, sink: picky(sink), deadLetter, batchSize: 8 });
    expect(result).toMatchObject({ records: 6, deadLettered: 2, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(6).map((v) => v.n));
    expect(deadLetter.records.map((r) => [r.id, r.value.reason])).toEqual([
      ['4', 'the value has no fields'],
      ['8', 'the value has no fields'],
    ]);
    expect(source.remaining()).toHaveLength(0);
  });

  it('without a dead-letter sink, stops on it and acks nothing of the batch', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const failure = await run({ source, sink: picky(sink), batchSize: 8 }).catch((e: unknown) => e);
    expect((failure as Error).message).toContain(
      'failed while writing after 0 batches (0 records): [memory] record 4 cannot be written',
    );
    expect(sink.records).toHaveLength(0);
    expect(source.remaining()).toHaveLength(8);
  });
});

describe('pump write retry step', () => {
  const batch = ['1', '2', '3', '4'].map((id) => recordOf(id));

  it('resolves with what the sink refused, adding up the records that lost keys and keeping the first', async () => {
    const memory = createMemorySink();
    let writes = 0;
    const sink: Sink = {
      ...memory,
      write: async (records) => {
        writes += 1;
        await memory.write(records.slice(1));
        return {
          rejected: [rejectRecord(records[0]!, 'wrong type')],
          skipped: { records: writes, first: { id: records[1]!.id, keys: [`k${writes}`] } },
        };
      },
    };
    const state = stateOf({ source: createMemorySource(), sink });
    expect((await writeWithReconcile(state, batch, undefined)).map((r) => [r.id, r.reason])).toEqual([
      ['1', 'wrong type'],
    ]);
    await writeWithReconcile(state, batch, undefined);
    expect(state).toMatchObject({ skippedFields: 3, firstSkipped: { id: '2', keys: ['k1'] } });
  });

  it('writes nothing for a batch left empty', async () => {
    const memory = createMemorySink();
    const sink: Sink = {
      ...memory,
      write: async () => {
        throw new Error('not called');
      },
    };
    expect(await writeWithReconcile(stateOf({ source: createMemorySource(), sink }), [], undefined)).toEqual([]);
  });

  it('before a retry writes only what the failed write did not land, looked for from the position given', async () => {
    const memory = createMemorySink();
    const since: (string | undefined)[] = [];
    let writes = 0;
    const sink: Sink = {
      ...memory,
      reconcile: (records, from) => {
        since.push(from);
        return memory.reconcile!(records, from);
      },
      write: async (records) => {
        writes += 1;
        await memory.write(writes === 1 ? records.slice(0, 3) : records);
        if (writes === 1) throw new ConnectionError('[memory] connection reset');
      },
    };
    const state = stateOf({ source: createMemorySource(), sink });
    expect(await writeWithReconcile(state, batch, '0')).toEqual([]);
    expect(since).toEqual(['0']);
    expect(memory.records.map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    expect(state.lastError).toMatch(/^writing a batch: \[memory\] connection reset \(retry 1/);
  });

  it('sets aside a record the sink fails the whole batch for, only where there is a dead-letter sink', async () => {
    const memory = createMemorySink();
    const sink: Sink = {
      ...memory,
      write: async (records) => {
        if (records.some((r) => r.id === '2')) throw new RecordRejectedError('2', 'no fields', '[memory] 2 refused');
        await memory.write(records);
      },
    };
    const source = createMemorySource();
    const refused = await writeWithReconcile(
      stateOf({ source, sink, deadLetter: createMemorySink() }),
      batch,
      undefined,
    );
    expect(refused.map((r) => [r.id, r.reason])).toEqual([['2', 'no fields']]);
    expect(memory.records.map((r) => r.id)).toEqual(['1', '3', '4']);

    await expect(writeWithReconcile(stateOf({ source, sink }), batch, undefined)).rejects.toThrow('[memory] 2 refused');
    // A record the batch does not hold cannot be set aside: the error stands.
    const naming: Sink = {
      ...sink,
      write: async () => {
        throw new RecordRejectedError('99', 'no fields', '[memory] 99 refused');
      },
    };
    await expect(
      writeWithReconcile(stateOf({ source, sink: naming, deadLetter: createMemorySink() }), batch, undefined),
    ).rejects.toThrow('[memory] 99 refused');
  });
});
