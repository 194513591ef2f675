import { describe, expect, it } from 'vitest';
import type { Sink, Source } from '../contracts.js';
import { ConnectionError, FatalError } from '../errors.js';
import { createMemorySink, createMemorySource, type MemorySource } from '../memory.js';
import type { PumpProgress } from './pump-progress.js';
import { fastRetry, run, traced, values } from './test-support.js';

describe('pump errors', () => {
  it('gives up after the retry limit and names the last error', async () => {
    const source = createMemorySource(values(10));
    const sink = createMemorySink();
    const t = traced(source, sink);
    t.faults.open = () => {
      throw new ConnectionError('[memory] cannot reach 127.0.0.1:1');
    };
    const failure = await run({ source: t.source, sink: t.sink, flowName: 'demo' }).catch((e: unknown) => e);
    expect((failure as Error).message).toBe(
      '[ferry] flow "demo" failed while connecting after 0 batches (0 records): [memory] cannot reach 127.0.0.1:1',
    );
    expect(t.calls.open).toBe(fastRetry.retries + 1);
  });
});

describe('pump memory', () => {
  it('holds at most one batch whatever the backlog, against a sink slower than the source', async () => {
    const backlog = 200_000;
    let made = 0;
    let acked = 0;
    let mostInHand = 0;
    // A source that makes records as they are read, so that only the pump could hold many.
    const endless: Source = {
      name: 'generator',
      async open() {},
      async read(max) {
        const n = Math.min(max, backlog - made);
        const records = Array.from({ length: n }, (_, i) => ({
          id: String(made + i),
          value: { n: made + i },
          readAt: 0,
          bytes: 8,
        }));
        made += n;
        mostInHand = Math.max(mostInHand, made - acked);
        return { records, handle: n };
      },
      async ack(batch) {
        acked += batch.handle as number;
      },
      async release() {},
      async close() {},
    };
    let written = 0;
    const slow: Sink = {
      name: 'slow',
      async open() {},
      async free() {
        return Number.POSITIVE_INFINITY;
      },
      async write(records) {
        await new Promise((resolve) => setImmediate(resolve));
        written += records.length;
      },
      async close() {},
    };
    const result = await run({ source: endless, sink: slow, batchSize: 500 });
    expect(result).toMatchObject({ records: backlog, stopReason: 'empty' });
    expect(written).toBe(backlog);
    expect(mostInHand).toBe(500);
  });
});

describe('pump loop', () => {
  /** A source and sinks that log their opens and closes, and when the source is asked for a direct path. */
  function logged(log: string[], memory: MemorySource) {
    const ends = (name: string) => ({
      open: async () => {
        log.push(`open ${name}`);
      },
      close: async () => {
        log.push(`close ${name}`);
      },
    });
    const source: Source = {
      ...memory,
      ...ends('source'),
      directTo: () => {
        log.push('direct?');
        return undefined;
      },
    };
    const sink: Sink = { ...createMemorySink(), ...ends('sink') };
    const deadLetter: Sink = { ...createMemorySink(), ...ends('dead letters') };
    return { source, sink, deadLetter };
  }

  it('opens the source, the sink and the dead-letter sink, asks once for a direct path, and closes all three', async () => {
    const log: string[] = [];
    const ends = logged(log, createMemorySource(values(25)));
    await run({ ...ends, batchSize: 10 });
    expect(log).toEqual([
      'open source',
      'open sink',
      'open dead letters',
      'direct?',
      'close source',
      'close sink',
      'close dead letters',
    ]);
  });

  it('closes all three also when the flow fails', async () => {
    const log: string[] = [];
    const ends = logged(log, createMemorySource(values(5)));
    const sink: Sink = {
      ...ends.sink,
      write: async () => {
        throw new FatalError('[memory] the disk is full');
      },
    };
    await expect(run({ ...ends, sink })).rejects.toThrow(/the disk is full/);
    expect(log.slice(-3)).toEqual(['close source', 'close sink', 'close dead letters']);
  });

  it('ends with the result as its last progress event: the stop reason, and no backlog left when the source is empty', async () => {
    const seen: PumpProgress[] = [];
    const result = await run({
      source: createMemorySource(values(25)),
      sink: createMemorySink(),
      batchSize: 10,
      onProgress: (p) => seen.push(p),
    });
    expect(result).toMatchObject({ records: 25, batches: 3, backlog: 0, stopReason: 'empty' });
    expect(seen.at(-1)).toBe(result);
    expect(seen[0]).toMatchObject({ records: 0, batches: 0 });
  });
});
