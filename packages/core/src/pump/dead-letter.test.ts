import { describe, expect, it } from 'vitest';
import type { RejectedRecord, Sink, Source } from '../contracts.js';
import { FatalError } from '../errors.js';
import { createMemorySink, createMemorySource, type MemorySink, type MemorySource } from '../memory.js';
import { rejectRecord } from '../record.js';
import { deadLetterAll, deadLetterRecord, deadLetterRefused } from './dead-letter.js';
import { settingsOf } from './pump-options.js';
import { FlowFailedError } from './pump-progress.js';
import { recordOf, run, stateOf, values } from './test-support.js';

describe('pump dead-lettering', () => {
  /** A source whose records with `bad: true` come back rejected, as a source does with a body it cannot decode. */
  function rejecting(source: MemorySource): Source {
    return {
      ...source,
      read: async (max, options) => {
        const batch = await source.read(max, options);
        const bad = batch.records.filter((r) => r.value.bad === true);
        return {
          ...batch,
          records: batch.records.filter((r) => r.value.bad !== true),
          rejected: bad.map((r) => ({
            id: r.id,
            reason: 'body is not JSON',
            raw: new TextEncoder().encode(`not json ${r.id}`),
            attempts: 2,
          })),
        };
      },
    };
  }

  const input = [...values(5), { bad: true }, ...values(4, 5), { bad: true }, { bad: true }];

  it('sends rejected records to the dead-letter sink with the reason and original bytes, and the rest on', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    const result = await run({ source: rejecting(source), sink, deadLetter, batchSize: 4, flowName: 'q2s' });
    expect(result).toMatchObject({ records: 9, deadLettered: 3, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(9).map((v) => v.n));
    expect(deadLetter.records.map((r) => r.id)).toEqual(['6', '11', '12']);
    expect(deadLetter.records[0]!.value).toMatchObject({
      reason: 'body is not JSON',
      sourceId: '6',
      source: 'memory',
      flow: 'q2s',
      attempts: 2n,
      original: Buffer.from('not json 6'),
    });
    // A batch of rejected records only is acked too, once dead-lettered.
    expect(source.remaining()).toHaveLength(0);
  });

  it('without a dead-letter sink, stops with the reason and acks nothing of that batch', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const failure = await run({ source: rejecting(source), sink, batchSize: 4 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FlowFailedError);
    expect((failure as Error).message).toBe(
      '[ferry] flow failed while reading after 1 batches (4 records): [memory] record 6 rejected: body is not JSON; ' +
        'no dead-letter sink is set, so nothing of its batch was acked',
    );
    expect(sink.records).toHaveLength(4);
    expect(source.remaining().map((r) => r.id)).toEqual(['5', '6', '7', '8', '9', '10', '11', '12']);
  });

  it('releases the batch and stops when the dead-letter sink fails for good', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    deadLetter.write = async () => {
      throw new FatalError('[memory] dead-letter stream is not a stream');
    };
    const failure = await run({ source: rejecting(source), sink, deadLetter, batchSize: 4 }).catch((e: unknown) => e);
    expect((failure as Error).message).toContain('failed while dead-lettering after 1 batches');
    expect(sink.records).toHaveLength(4);
    expect(source.remaining()).toHaveLength(8);
  });
});

describe('pump when the sink refuses some records of a batch', () => {
  /** A sink that writes every record but those with `bad: true`, which it reports with a reason. */
  function refusing(sink: MemorySink): Sink {
    return {
      ...sink,
      write: async (records) => {
        await sink.write(records.filter((r) => r.value.bad !== true));
        const refused = records.filter((r) => r.value.bad === true);
        return {
          rejected: refused.map((r) => rejectRecord(r, `Cannot parse input: n is not a number (record ${r.id})`)),
        };
      },
    };
  }
  const input = [...values(3), { bad: true }, ...values(3, 3), { bad: true }];

  it('dead-letters exactly the refused records with the reason and acks the batch', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const deadLetter = createMemorySink();
    const result = await run({ source, sink: refusing(sink), deadLetter, batchSize: 5 });
    expect(result).toMatchObject({ records: 6, deadLettered: 2, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(6).map((v) => v.n));
    expect(deadLetter.records.map((r) => [r.id, r.value.reason, r.value.source])).toEqual([
      ['4', 'Cannot parse input: n is not a number (record 4)', 'memory'],
      ['8', 'Cannot parse input: n is not a number (record 8)', 'memory'],
    ]);
    expect(Buffer.from(deadLetter.records[0]!.value.original as Uint8Array).toString()).toBe('{"bad":true}');
    expect(source.remaining()).toHaveLength(0);
  });

  it('without a dead-letter sink, stops with the reason and acks nothing of the batch', async () => {
    const source = createMemorySource(input);
    const sink = createMemorySink();
    const failure = await run({ source, sink: refusing(sink), batchSize: 5 }).catch((e: unknown) => e);
    expect((failure as Error).message).toBe(
      '[ferry] flow failed while writing after 0 batches (0 records): [memory] record 4 rejected: ' +
        'Cannot parse input: n is not a number (record 4); no dead-letter sink is set, so nothing of its batch was acked ' +
        '(its other 4 records were written and will be read again)',
    );
    expect(source.remaining()).toHaveLength(8);
  });
});

describe('pump dead-letter step', () => {
  const rejected = (id: string, more: Partial<RejectedRecord> = {}): RejectedRecord => ({
    id,
    reason: 'body is not JSON',
    raw: Buffer.from(`raw ${id}`),
    ...more,
  });

  it('makes a dead letter of the reason, the source, the flow and the original bytes', () => {
    const source = createMemorySource([], 'rabbitmq');
    const settings = settingsOf({ source, sink: createMemorySink(), batchSize: 1, flowName: 'q2s' });
    const headers = { 'x-trace': 'abc' };
    const letter = deadLetterRecord(settings, rejected('7', { attempts: 3, contentType: 'text/plain', headers }));
    expect(letter).toMatchObject({ id: '7', bytes: 5 });
    expect(letter.value).toEqual({
      reason: 'body is not JSON',
      sourceId: '7',
      source: 'rabbitmq',
      original: Buffer.from('raw 7'),
      rejectedAt: expect.any(Date),
      flow: 'q2s',
      attempts: 3n,
      contentType: 'text/plain',
      headers,
    });
    const bare = deadLetterRecord(settingsOf({ source, sink: createMemorySink(), batchSize: 1 }), rejected('8'));
    expect(Object.keys(bare.value)).toEqual(['reason', 'sourceId', 'source', 'original', 'rejectedAt']);
  });

  it('writes the dead letters to the dead-letter sink', async () => {
    const deadLetter = createMemorySink();
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), deadLetter });
    await deadLetterAll(state, { records: [], handle: [] }, [rejected('1'), rejected('2')], 'memory', 'reading');
    expect(deadLetter.records.map((r) => [r.id, r.value.reason])).toEqual([
      ['1', 'body is not JSON'],
      ['2', 'body is not JSON'],
    ]);
  });

  it('without a dead-letter sink, gives the batch back and fails naming the first record and how many more', async () => {
    const source = createMemorySource(values(3));
    const batch = await source.read(3, { waitMs: 0 });
    const state = stateOf({ source, sink: createMemorySink() });
    const failing = deadLetterAll(state, batch, [rejected('1'), rejected('2')], 'clickhouse', 'writing', 1);
    await expect(failing).rejects.toThrow(
      '[ferry] flow failed while writing after 0 batches (0 records): [clickhouse] record 1 rejected: body is not JSON ' +
        '(and 1 more in the batch); no dead-letter sink is set, so nothing of its batch was acked ' +
        '(its other 1 records were written and will be read again)',
    );
    expect((await source.read(3, { waitMs: 0 })).records).toHaveLength(3);
  });

  it('holds the records written beside the refused ones in doubt while they are dead-lettered', async () => {
    const seen: string[][] = [];
    const memory = createMemorySink();
    const deadLetter: Sink = {
      ...memory,
      write: async (records) => {
        seen.push([...state.inDoubt.keys()]);
        await memory.write(records);
      },
    };
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), deadLetter });
    const written = ['1', '2', '3'].map((id) => recordOf(id));
    await deadLetterRefused(state, { records: written, handle: [] }, written, [rejected('2')], '4');
    expect(seen).toEqual([['1', '3']]);
    expect(state.inDoubt.size).toBe(0);
    expect(memory.records.map((r) => r.id)).toEqual(['2']);
  });
});
