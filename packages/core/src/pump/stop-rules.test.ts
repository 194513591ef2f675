import { describe, expect, it } from 'vitest';
import type { Sink } from '../contracts.js';
import { FatalError } from '../errors.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { AbortedError } from '../retry.js';
import { FlowFailedError, type PumpProgress } from './pump-progress.js';
import { room, Stop, stopBeforeBatch, stopOrFail, stopOrWait } from './stop-rules.js';
import { run, stateOf, traced, values } from './test-support.js';

describe('pump stop conditions', () => {
  it('stops after maxBatches, leaving the rest at the source', async () => {
    const source = createMemorySource(values(5000));
    const sink = createMemorySink();
    const result = await run({ source, sink, maxBatches: 2 });
    expect(result).toMatchObject({ records: 2000, batches: 2, stopReason: 'maxBatches' });
    expect(sink.records).toHaveLength(2000);
    expect(source.remaining()).toHaveLength(3000);
    expect(source.remaining()[0]!.value.n).toBe(2000);
  });

  it('stops when the source is empty', async () => {
    const result = await run({ source: createMemorySource([]), sink: createMemorySink() });
    expect(result).toMatchObject({ records: 0, batches: 0, stopReason: 'empty' });
  });

  it('in follow mode waits for new records instead of stopping', async () => {
    const source = createMemorySource(values(10));
    const sink = createMemorySink();
    const controller = new AbortController();
    const seenWaiting: string[] = [];
    const running = run({
      source,
      sink,
      stopWhenEmpty: false,
      pollIntervalMs: 20,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.waiting !== undefined) seenWaiting.push(p.waiting);
        // New records arrive once the pump has found the source empty and waited, not before.
        if (p.waiting === 'empty' && p.records === 10 && source.remaining().length === 0) source.push(values(5, 10));
        if (p.records === 15) controller.abort();
      },
    });
    const result = await running;
    expect(result).toMatchObject({ records: 15, stopReason: 'aborted' });
    expect(sink.records.map((r) => r.value.n)).toEqual(values(15).map((v) => v.n));
    expect(seenWaiting).toContain('empty');
  });
});

describe('pump when the target is full', () => {
  it('reads no more than the free room and stops when the flow says stop', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink({ maxLen: 1500 });
    const t = traced(source, sink);
    const result = await run({ source: t.source, sink: t.sink, whenFull: 'stop' });
    expect(result).toMatchObject({ records: 1500, batches: 2, stopReason: 'full' });
    expect(t.log.slice(0, 8)).toEqual([
      'free 1500',
      'read 1000',
      'write 1000',
      'ack 1000',
      'free 500',
      'read 500',
      'write 500',
      'ack 500',
    ]);
    expect(t.log[8]).toBe('free 0');
    expect(sink.records).toHaveLength(1500);
    expect(source.remaining()).toHaveLength(1500);
  });

  it('waits and polls until the target has room when the flow says wait', async () => {
    const source = createMemorySource(values(2000));
    const sink = createMemorySink({ maxLen: 1000 });
    const drained: number[] = [];
    const result = await run({
      source,
      sink,
      whenFull: 'wait',
      pollIntervalMs: 10,
      onProgress: (p) => {
        // A consumer of the target drains it while the pump waits.
        if (p.waiting === 'full') drained.push(sink.records.splice(0, sink.records.length).length);
      },
    });
    expect(result).toMatchObject({ records: 2000, stopReason: 'empty' });
    // Full after each batch: the pump waited twice, and the consumer took 1000 each time.
    expect(drained).toEqual([1000, 1000]);
    expect(sink.records).toHaveLength(0);
  });
});

describe('pump abort', () => {
  it('finishes the batch being written, acks it, then stops: never half-acked', async () => {
    const source = createMemorySource(values(5000));
    const sink = createMemorySink();
    const t = traced(source, sink);
    const controller = new AbortController();
    t.faults.write = (call) => {
      if (call === 2) controller.abort();
    };
    const result = await run({ source: t.source, sink: t.sink, signal: controller.signal });
    expect(result).toMatchObject({ records: 2000, batches: 2, stopReason: 'aborted' });
    expect(t.log.slice(-4)).toEqual(['write 1000', 'ack 1000', 'close source', 'close sink']);
    expect(sink.records).toHaveLength(2000);
    expect(source.remaining()).toHaveLength(3000);
  });

  it('releases a batch that was read but not yet written', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const controller = new AbortController();
    const t = traced(source, sink);
    t.faults.read = (call) => {
      if (call === 2) controller.abort();
    };
    const result = await run({ source: t.source, sink: t.sink, signal: controller.signal });
    expect(result).toMatchObject({ records: 1000, stopReason: 'aborted' });
    expect(t.log).toContain('release 1000');
    expect(t.log.filter((l) => l.startsWith('write'))).toHaveLength(1);
    expect(source.remaining()).toHaveLength(2000);
    const again = await run({ source, sink });
    expect(again.records).toBe(2000);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
  });

  it('stops at once when aborted while waiting for room', async () => {
    const controller = new AbortController();
    const running = run({
      source: createMemorySource(values(10)),
      sink: createMemorySink({ maxLen: 0 }),
      pollIntervalMs: 60_000,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.waiting === 'full') controller.abort();
      },
    });
    await expect(running).resolves.toMatchObject({ records: 0, stopReason: 'aborted' });
  });
});

describe('pump stop rules', () => {
  const sinkWithFree = (free: number): Sink => ({ ...createMemorySink(), free: async () => free });

  it('before a batch, stops when aborted, then after maxBatches', () => {
    const controller = new AbortController();
    const state = stateOf({
      source: createMemorySource(),
      sink: createMemorySink(),
      maxBatches: 2,
      signal: controller.signal,
    });
    state.batches = 1;
    expect(() => stopBeforeBatch(state)).not.toThrow();
    state.batches = 2;
    expect(() => stopBeforeBatch(state)).toThrow(expect.objectContaining({ reason: 'maxBatches' }));
    controller.abort();
    expect(() => stopBeforeBatch(state)).toThrow(expect.objectContaining({ reason: 'aborted' }));
  });

  it('a full sink stops the flow or is waited on, as whenFull says', () => {
    const seen: PumpProgress[] = [];
    const source = createMemorySource();
    const sink = createMemorySink();
    expect(() => stopOrWait(stateOf({ source, sink, whenFull: 'stop' }), 'full')).toThrow(Stop);
    stopOrWait(stateOf({ source, sink, whenFull: 'wait', onProgress: (p) => seen.push(p) }), 'full');
    expect(seen.map((p) => p.waiting)).toEqual(['full']);
  });

  it('an empty source stops the flow or is waited on, as stopWhenEmpty says', () => {
    const seen: PumpProgress[] = [];
    const source = createMemorySource();
    const sink = createMemorySink();
    expect(() => stopOrWait(stateOf({ source, sink }), 'empty')).toThrow(expect.objectContaining({ reason: 'empty' }));
    stopOrWait(stateOf({ source, sink, stopWhenEmpty: false, onProgress: (p) => seen.push(p) }), 'empty');
    expect(seen.map((p) => p.waiting)).toEqual(['empty']);
  });

  it('gives a batch the sink’s whole records of room, at most batchSize', async () => {
    const source = createMemorySource();
    expect(await room(stateOf({ source, sink: sinkWithFree(2.7), batchSize: 10 }))).toBe(2);
    expect(await room(stateOf({ source, sink: sinkWithFree(Number.POSITIVE_INFINITY), batchSize: 10 }))).toBe(10);
    await expect(room(stateOf({ source, sink: sinkWithFree(0.5), whenFull: 'stop' }))).rejects.toMatchObject({
      reason: 'full',
    });
  });

  it('turns an abort that cut retries short into a stop, and any other error into the flow’s failure', () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    expect(stopOrFail(state, new AbortedError('[ferry] stopped'), 'writing')).toEqual(new Stop('aborted'));
    const failed = stopOrFail(state, new FatalError('[memory] gone'), 'writing');
    expect(failed).toBeInstanceOf(FlowFailedError);
    expect((failed as FlowFailedError).message).toBe(
      '[ferry] flow failed while writing after 0 batches (0 records): [memory] gone',
    );
  });
});
