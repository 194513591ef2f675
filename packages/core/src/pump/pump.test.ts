import { describe, expect, it } from 'vitest';
import type { Sink, Source } from '../contracts.js';
import { ConnectionError, FatalError, LeaseLostError, RecordRejectedError, TransientError } from '../errors.js';
import { createMemoryJournal } from '../journal.js';
import { toJson } from '../json.js';
import { createMemorySink, createMemorySource, type MemorySink, type MemorySource } from '../memory.js';
import { rejectRecord } from '../record.js';
import type { RetryPolicy } from '../retry.js';
import { createPump } from './pump.js';
import type { PumpOptions } from './pump-options.js';
import { FlowFailedError, type PumpProgress } from './pump-progress.js';

const fastRetry: RetryPolicy = { retries: 3, initialDelayMs: 1, maxDelayMs: 5, factor: 2 };

function values(n: number, from = 0) {
  return Array.from({ length: n }, (_, i) => ({ n: from + i, text: `message ${from + i}` }));
}

/** Wraps a source and a sink so that every call is logged, and lets a test break one call. */
function traced(source: MemorySource, sink: MemorySink) {
  const log: string[] = [];
  const faults: { [K in 'open' | 'free' | 'read' | 'write' | 'ack']?: (call: number) => void } = {};
  const calls = { open: 0, free: 0, read: 0, write: 0, ack: 0 };
  const hit = (what: keyof typeof calls) => {
    calls[what] += 1;
    faults[what]?.(calls[what]);
  };
  const tracedSource: Source = {
    name: 'memory',
    open: async () => {
      hit('open');
      await source.open();
    },
    read: async (max, options) => {
      hit('read');
      const batch = await source.read(max, options);
      log.push(`read ${batch.records.length}`);
      return batch;
    },
    ack: async (batch) => {
      hit('ack');
      log.push(`ack ${batch.records.length}`);
      await source.ack(batch as never);
    },
    release: async (batch) => {
      log.push(`release ${batch.records.length}`);
      await source.release(batch as never);
    },
    backlog: () => source.backlog(),
    close: async () => {
      log.push('close source');
      await source.close();
    },
  };
  const tracedSink: Sink = {
    name: 'memory',
    open: () => sink.open(),
    free: async () => {
      hit('free');
      const free = await sink.free();
      log.push(`free ${free}`);
      return free;
    },
    write: async (records) => {
      hit('write');
      log.push(`write ${records.length}`);
      await sink.write(records);
    },
    reconcile: (records) => sink.reconcile!(records),
    close: async () => {
      log.push('close sink');
      await sink.close();
    },
  };
  return { source: tracedSource, sink: tracedSink, log, faults, calls };
}

function run(options: Partial<PumpOptions> & Pick<PumpOptions, 'source' | 'sink'>) {
  return createPump({ batchSize: 1000, retry: fastRetry, ...options }).run();
}

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

  it('reports records, batches, bytes and a rate as it goes', async () => {
    const seen: PumpProgress[] = [];
    const input = values(300);
    const result = await run({
      source: createMemorySource(input),
      sink: createMemorySink(),
      batchSize: 100,
      onProgress: (p) => seen.push(p),
    });
    const bytes = input.reduce((sum, v) => sum + toJson(v).text.length, 0);
    expect(result.bytes).toBe(bytes);
    expect(result.rate).toBeGreaterThan(0);
    const afterBatches = seen.filter((p) => p.batches > 0).map((p) => p.records);
    expect(afterBatches.slice(0, 3)).toEqual([100, 200, 300]);
    expect(seen[0]).toMatchObject({ records: 0, backlog: 300 });
    // The backlog is asked for once a second at most; in between, what moved is taken off it.
    expect(seen.filter((p) => p.batches > 0).map((p) => p.backlog)).toEqual([200, 100, 0, 0]);
  });
});

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

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => createPump({ source: createMemorySource(), sink: createMemorySink(), batchSize: 0 })).toThrow(
      /batchSize must be a positive integer, got 0/,
    );
  });
});

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
  /** A sink that dies (as a SIGKILL would) right after its nth write, before the pump acks it. */
  function dyingAfter(sink: MemorySink, nth: number): Sink {
    let writes = 0;
    return {
      name: sink.name,
      open: () => sink.open(),
      free: () => sink.free(),
      position: () => sink.position!(),
      reconcile: (records, since) => sink.reconcile!(records, since),
      close: () => sink.close(),
      async write(records) {
        await sink.write(records);
        writes += 1;
        if (writes === nth) throw new FatalError('[memory] the worker was killed');
      },
    };
  }

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

describe('pump with a direct path from source to sink', () => {
  /**
   * A source that can move its records straight into a memory sink, as one
   * server-side step would. With a `bound`, the move checks the sink's length
   * against it in that step, as a script reading the length would: stricter
   * than what the sink's free() says, as when another writer took the room since.
   */
  function withDirect(source: MemorySource, sink: MemorySink, bound = Number.POSITIVE_INFINITY) {
    const moves: number[] = [];
    const directSource: Source = {
      ...source,
      name: source.name,
      directTo: (target) =>
        target === sink
          ? {
              name: 'memory move',
              move: async (max) => {
                const room = bound - sink.records.length;
                if (room <= 0) return { records: 0, bytes: 0, full: true };
                const batch = await source.read(Math.min(max, room), { waitMs: 0 });
                await sink.write(batch.records);
                await source.ack(batch);
                moves.push(batch.records.length);
                return { records: batch.records.length, bytes: batch.records.reduce((n, r) => n + r.bytes, 0) };
              },
            }
          : undefined,
    };
    return { source: directSource, moves };
  }

  it('moves every batch the direct way, capped by the free room, and says so in progress', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink({ maxLen: 2200 });
    const d = withDirect(source, sink);
    const result = await run({ source: d.source, sink, whenFull: 'stop' });
    expect(result).toMatchObject({ records: 2200, batches: 3, stopReason: 'full', direct: 'memory move' });
    expect(d.moves).toEqual([1000, 1000, 200]);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(2200).map((v) => v.n));
    expect(source.remaining()).toHaveLength(300);
  });

  it('stops after maxBatches and when the source is empty, as the usual path does', async () => {
    const source = createMemorySource(values(3500));
    const sink = createMemorySink();
    const d = withDirect(source, sink);
    expect(await run({ source: d.source, sink, maxBatches: 2 })).toMatchObject({
      records: 2000,
      stopReason: 'maxBatches',
    });
    expect(await run({ source: d.source, sink })).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(d.moves).toEqual([1000, 1000, 1000, 500, 0]);
    expect(sink.records).toHaveLength(3500);
  });

  it('a move that finds the sink full stops the flow as a full sink does (whenFull stop)', async () => {
    const source = createMemorySource(values(2500));
    const sink = createMemorySink();
    const d = withDirect(source, sink, 2200);
    const result = await run({ source: d.source, sink, whenFull: 'stop' });
    expect(result).toMatchObject({ records: 2200, batches: 3, stopReason: 'full', direct: 'memory move' });
    expect(d.moves).toEqual([1000, 1000, 200]);
    expect(source.remaining()).toHaveLength(300);
  });

  it('a move that finds the sink full waits (whenFull wait), and goes on once there is room', async () => {
    const source = createMemorySource(values(1500));
    const sink = createMemorySink();
    const d = withDirect(source, sink, 1000);
    const waits: number[] = [];
    const result = await run({
      source: d.source,
      sink,
      pollIntervalMs: 10,
      onProgress: (p) => {
        if (p.waiting !== 'full') return;
        waits.push(p.records);
        // A consumer of the target takes what is there.
        sink.records.splice(0, sink.records.length);
      },
    });
    expect(result).toMatchObject({ records: 1500, stopReason: 'empty' });
    expect(waits).toEqual([1000]);
    expect(d.moves).toEqual([1000, 500, 0]);
  });

  it('takes the usual path for a batch left in doubt, so the sink is asked about it, then goes direct', async () => {
    const source = createMemorySource(values(3000));
    const sink = createMemorySink();
    const journal = createMemoryJournal();
    const t = traced(source, sink);
    t.faults.ack = (call) => {
      if (call === 1) throw new FatalError('[memory] the worker was killed');
    };
    await expect(run({ source: t.source, sink: t.sink, journal })).rejects.toThrow(/the worker was killed/);
    expect(sink.records).toHaveLength(1000);

    const d = withDirect(source, sink);
    const again = await run({ source: d.source, sink, journal });
    expect(again).toMatchObject({ records: 2000, stopReason: 'empty' });
    expect(d.moves).toEqual([1000, 1000, 0]);
    expect(sink.records.map((r) => r.value.n)).toEqual(values(3000).map((v) => v.n));
  });
});

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

describe('pump: records that lost keys at the sink', () => {
  it('adds up what each write reports and keeps the first, in progress and in the result', async () => {
    const inner = createMemorySink();
    let write = 0;
    const sink: Sink = {
      ...inner,
      write: async (records) => {
        await inner.write(records);
        write += 1;
        return { rejected: [], skipped: { records: write, first: { id: records[0]!.id, keys: [`k${write}`] } } };
      },
    };
    const seen: PumpProgress[] = [];
    const result = await createPump({
      source: createMemorySource(values(9)),
      sink,
      batchSize: 3,
      onProgress: (p) => seen.push(p),
    }).run();
    expect(result).toMatchObject({ records: 9, skippedFields: 1 + 2 + 3 });
    expect(result.firstSkipped).toEqual({ id: inner.records[0]!.id, keys: ['k1'] });
    expect(seen.find((p) => p.skippedFields !== undefined)?.skippedFields).toBe(1);
  });

  it('says nothing of them when no write reports any', async () => {
    const result = await createPump({
      source: createMemorySource(values(3)),
      sink: createMemorySink(),
      batchSize: 3,
    }).run();
    expect(result.skippedFields).toBeUndefined();
    expect(result.firstSkipped).toBeUndefined();
  });
});
