import type { Sink, Source } from '../contracts.js';
import { FatalError } from '../errors.js';
import type { MemorySink, MemorySource } from '../memory.js';
import type { FerryRecord } from '../record.js';
import type { RetryPolicy } from '../retry.js';
import { createPump } from './pump.js';
import { type PumpOptions, settingsOf } from './pump-options.js';
import { createPumpState, type PumpState } from './pump-state.js';

// What the pump's tests share: records, a traced source and sink, a run with fast retries.

export const fastRetry: RetryPolicy = { retries: 3, initialDelayMs: 1, maxDelayMs: 5, factor: 2 };

export function values(n: number, from = 0) {
  return Array.from({ length: n }, (_, i) => ({ n: from + i, text: `message ${from + i}` }));
}

/** Wraps a source and a sink so that every call is logged, and lets a test break one call. */
export function traced(source: MemorySource, sink: MemorySink) {
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

export function run(options: Partial<PumpOptions> & Pick<PumpOptions, 'source' | 'sink'>) {
  return createPump({ batchSize: 1000, retry: fastRetry, ...options }).run();
}

/** A record as a source hands it out, for a step tested on its own. */
export function recordOf(id: string, extra: Partial<FerryRecord> = {}): FerryRecord {
  return { id, value: { n: Number(id) }, readAt: 0, bytes: 8, ...extra };
}

/** A pump's state before it runs, for testing one step on its own. */
export function stateOf(options: Partial<PumpOptions> & Pick<PumpOptions, 'source' | 'sink'>): PumpState {
  return createPumpState(settingsOf({ batchSize: 1000, retry: fastRetry, ...options }));
}

/** A sink that dies (as a SIGKILL would) right after its nth write, before the pump acks it. */
export function dyingAfter(sink: MemorySink, nth: number): Sink {
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
