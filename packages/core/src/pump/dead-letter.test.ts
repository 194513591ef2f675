import { describe, expect, it } from 'vitest';
import type { Sink, Source } from '../contracts.js';
import { FatalError } from '../errors.js';
import { createMemorySink, createMemorySource, type MemorySink, type MemorySource } from '../memory.js';
import { rejectRecord } from '../record.js';
import { FlowFailedError } from './pump-progress.js';
import { run, values } from './test-support.js';

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
