import { describe, expect, it } from 'vitest';
import { RecordRejectedError } from '../errors.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { run, traced, values } from './test-support.js';

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
