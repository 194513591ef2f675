// Longer than the others: the read-ahead's five flows through the whole pump come first, then each of its functions alone.
import { describe, expect, it } from 'vitest';
import type { Sink, Source, SourceBatch } from '../contracts.js';
import { FatalError } from '../errors.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { dropAhead, isEmpty, readAhead, releaseQuietly, settleAhead, takeAhead } from './read-ahead.js';
import { recordOf, run, stateOf, traced, values } from './test-support.js';

describe('pump reading ahead', () => {
  const ahead = (source: Source): Source => ({ ...source, name: source.name, readAhead: true });

  it('reads the next batch while the sink writes the one in hand, keeping order and acking in order', async () => {
    const source = createMemorySource(values(3500));
    const sink = createMemorySink();
    const t = traced(source, sink);
    let readsDuringFirstWrite = 0;
    const slow: Sink = {
      ...t.sink,
      name: 'slow',
      write: async (records) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (t.calls.write === 0) readsDuringFirstWrite = t.calls.read;
        return t.sink.write(records);
      },
    };
    const result = await run({ source: ahead(t.source), sink: slow });
    expect(result).toMatchObject({ records: 3500, batches: 4, stopReason: 'empty' });
    // The second batch was read before the first write ended.
    expect(readsDuringFirstWrite).toBe(2);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3500).map((v) => v.n));
    expect(t.log.filter((line) => line.startsWith('ack'))).toEqual(['ack 1000', 'ack 1000', 'ack 1000', 'ack 500']);
    // Every batch was acked only after its own write.
    const writes = t.log.filter((line) => line.startsWith('write') || line.startsWith('ack'));
    expect(writes).toEqual([
      'write 1000',
      'ack 1000',
      'write 1000',
      'ack 1000',
      'write 1000',
      'ack 1000',
      'write 500',
      'ack 500',
    ]);
  });

  it('never reads past maxBatches or the sink’s room less the batch in hand', async () => {
    const source = createMemorySource(values(5000));
    const sink = createMemorySink({ maxLen: 2500 });
    const t = traced(source, sink);
    const capped = await run({ source: ahead(t.source), sink: t.sink, maxBatches: 2 });
    expect(capped).toMatchObject({ records: 2000, stopReason: 'maxBatches' });
    expect(t.calls.read).toBe(2);
    expect(source.remaining()).toHaveLength(3000);

    const full = await run({ source: ahead(t.source), sink: t.sink, whenFull: 'stop' });
    expect(full).toMatchObject({ records: 500, stopReason: 'full' });
    expect(sink.records).toHaveLength(2500);
    // Nothing read ahead is left out: the rest is still at the source, none of it in flight.
    expect(source.remaining()).toHaveLength(2500);
    expect((await source.read(5000, { waitMs: 0 })).records).toHaveLength(2500);
  });

  it('gives the batch read ahead back when the write fails, so a rerun moves every record once', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const t = traced(source, sink);
    t.faults.write = (call) => {
      if (call === 2) throw new FatalError('[memory] the disk is full');
    };
    await expect(run({ source: ahead(t.source), sink: t.sink })).rejects.toThrow(/the disk is full/);
    expect(sink.records).toHaveLength(1000);
    expect(t.log.filter((line) => line.startsWith('release'))).toEqual(['release 1000', 'release 1000']);
    expect(source.remaining()).toHaveLength(2000);

    const again = await run({ source: ahead(source), sink });
    expect(again).toMatchObject({ records: 2000, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
  });

  it('acks while a read is under way when the source says it can, so a read waiting on that ack is not held up', async () => {
    // Like a RabbitMQ prefetch window of one batch: nothing more arrives until the batch out is acked.
    const source = createMemorySource(values(3500));
    const sink = createMemorySink();
    const log: string[] = [];
    let out = 0;
    let acked: (() => void) | undefined;
    const windowed: Source = {
      name: 'windowed',
      readAhead: true,
      acksWhileReading: true,
      open: () => source.open(),
      read: async (max, options) => {
        log.push('read starts');
        while (out > 0) await new Promise<void>((resolve) => (acked = resolve));
        const batch = await source.read(max, options);
        out += batch.records.length;
        log.push(`read ${batch.records.length}`);
        return batch;
      },
      ack: async (batch) => {
        log.push(`ack ${batch.records.length}`);
        await source.ack(batch as never);
        out -= batch.records.length;
        acked?.();
      },
      release: (batch) => source.release(batch as never),
      close: () => source.close(),
    };
    const result = await run({ source: windowed, sink });
    expect(result).toMatchObject({ records: 3500, batches: 4, stopReason: 'empty' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3500).map((v) => v.n));
    // Each read ahead started before the ack of the batch in hand and ended after it.
    expect(log.slice(0, 7)).toEqual([
      'read starts',
      'read 1000',
      'read starts',
      'ack 1000',
      'read 1000',
      'read starts',
      'ack 1000',
    ]);
  });

  it('stops cleanly on abort with a batch read ahead: the batch in hand is acked, the one ahead given back', async () => {
    const source = createMemorySource(values(5000));
    const sink = createMemorySink();
    const t = traced(source, sink);
    const controller = new AbortController();
    t.faults.write = (call) => {
      if (call === 2) controller.abort();
    };
    const result = await run({ source: ahead(t.source), sink: t.sink, signal: controller.signal });
    expect(result).toMatchObject({ records: 2000, stopReason: 'aborted' });
    expect(sink.records).toHaveLength(2000);
    expect(source.remaining()).toHaveLength(3000);
    expect((await source.read(5000, { waitMs: 0 })).records[0]!.value.n).toBe(2000);
  });
});

describe('pump read-ahead step', () => {
  const readsAhead = (source: Source): Source => ({ ...source, name: source.name, readAhead: true });
  const inHand: SourceBatch = { records: [recordOf('1')], handle: ['1'] };
  /** A read under way, which settles a few milliseconds from now and then calls `settled`. */
  const underWay = (settled: () => void) =>
    new Promise<undefined>((resolve) =>
      setTimeout(() => {
        settled();
        resolve(undefined);
      }, 5),
    );

  it('tells an empty batch: no records and nothing rejected', () => {
    expect(isEmpty({ records: [], handle: undefined })).toBe(true);
    const rejected = [{ id: '1', reason: 'body is not JSON', raw: new Uint8Array() }];
    expect(isEmpty({ records: [], handle: undefined, rejected })).toBe(false);
    expect(isEmpty(inHand)).toBe(false);
  });

  it('reads one whole batch ahead, without waiting for records', async () => {
    const memory = createMemorySource(values(30));
    const reads: { max: number; waitMs: number }[] = [];
    const source: Source = {
      ...readsAhead(memory),
      read: (max, options) => {
        reads.push({ max, waitMs: options.waitMs });
        return memory.read(max, options);
      },
    };
    // Even in follow mode, whose reads wait for records.
    const state = stateOf({ source, sink: createMemorySink(), batchSize: 10, stopWhenEmpty: false });
    await readAhead(state, inHand);
    expect((await takeAhead(state))?.records.map((r) => r.value.n)).toEqual(values(10).map((v) => v.n));
    expect(reads).toEqual([{ max: 10, waitMs: 0 }]);
    expect(state.ahead).toBeUndefined();
  });

  it('reads nothing ahead unless the source says it can, nor near maxBatches, one record at a time, on a direct path, or without room for a whole batch', async () => {
    const memory = createMemorySource(values(30));
    const source = readsAhead(memory);
    const sink = createMemorySink();
    const direct = { name: 'memory move', move: async () => ({ records: 0, bytes: 0 }) };
    const states = [
      stateOf({ source: memory, sink, batchSize: 10 }),
      stateOf({ source, sink, batchSize: 10, maxBatches: 1 }),
      Object.assign(stateOf({ source, sink, batchSize: 10 }), { careful: 3 }),
      Object.assign(stateOf({ source, sink, batchSize: 10 }), { direct }),
      stateOf({ source, sink: createMemorySink({ maxLen: 10 }), batchSize: 10 }),
    ];
    for (const state of states) {
      await readAhead(state, inHand);
      expect(state.ahead).toBeUndefined();
    }
    // Room for the batch in hand and a whole one more: it reads.
    const roomy = stateOf({ source, sink: createMemorySink({ maxLen: 11 }), batchSize: 10, maxBatches: 2 });
    await readAhead(roomy, inHand);
    expect((await takeAhead(roomy))?.records).toHaveLength(10);
  });

  it('settles a failed read ahead with nothing, keeping its error for progress', async () => {
    const source: Source = {
      ...readsAhead(createMemorySource(values(3))),
      read: async () => {
        throw new FatalError('[memory] gone');
      },
    };
    const state = stateOf({ source, sink: createMemorySink(), batchSize: 1 });
    await readAhead(state, inHand);
    expect(await takeAhead(state)).toBeUndefined();
    expect(state.lastError).toBe('reading ahead: [memory] gone');
  });

  it('gives back an empty batch read ahead, and on the way out the one never written', async () => {
    const memory = createMemorySource(values(1));
    const released: number[] = [];
    const source: Source = {
      ...readsAhead(memory),
      release: async (batch) => {
        released.push(batch.records.length);
        await memory.release(batch as never);
      },
    };
    const state = stateOf({ source, sink: createMemorySink(), batchSize: 1 });
    state.ahead = memory.read(1, { waitMs: 0 });
    await dropAhead(state);
    expect(released).toEqual([1]);
    expect((await memory.read(1, { waitMs: 0 })).records).toHaveLength(1);

    state.ahead = Promise.resolve({ records: [], handle: [] });
    expect(await takeAhead(state)).toBeUndefined();
    expect(released).toEqual([1, 0]);
  });

  it('releases only once a read under way has settled, and keeps a failed release as the last error', async () => {
    const order: string[] = [];
    const source: Source = {
      ...createMemorySource(),
      release: async () => {
        order.push('release');
        throw new FatalError('[memory] channel closed');
      },
    };
    const state = stateOf({ source, sink: createMemorySink() });
    state.ahead = underWay(() => order.push('read settled'));
    await releaseQuietly(state, inHand);
    expect(order).toEqual(['read settled', 'release']);
    expect(state.lastError).toBe('releasing a batch: [memory] channel closed');
  });

  it('waits for a read under way before an ack, unless the source may be acked while it reads', async () => {
    let settled = false;
    const reading = () => underWay(() => (settled = true));
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    state.ahead = reading();
    await settleAhead(state);
    expect(settled).toBe(true);

    settled = false;
    const windowed = stateOf({ source: { ...createMemorySource(), acksWhileReading: true }, sink: createMemorySink() });
    windowed.ahead = reading();
    await settleAhead(windowed);
    expect(settled).toBe(false);
    await windowed.ahead;
  });
});
