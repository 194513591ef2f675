import type { ReadOptions, Sink, Source, SourceBatch } from './contracts.js';
import { toJson } from './json.js';
import type { FerryRecord, RecordValue } from './record.js';

/**
 * In-memory source and sink: for unit tests of the pump and of code built on
 * it, and for trying a flow without servers. They keep the contracts exactly
 * (unacked records come back, a write is visible when it resolves) but hold
 * nothing across processes.
 */
export interface MemorySource extends Source<readonly string[]> {
  /** Adds records at the end, waking a follow-mode read. */
  push(values: readonly RecordValue[]): void;
  /** Records not acked yet, in flight or not, oldest first. */
  remaining(): FerryRecord[];
  backlog(): Promise<number>;
}

export interface MemorySink extends Sink {
  /** Everything written so far, in order. */
  readonly records: FerryRecord[];
  /** How many written records reconcile has looked at, in all: what a search from a position spares. */
  readonly examined: number;
}

export interface MemorySinkOptions {
  /** Capacity for the backpressure check; Infinity by default. */
  readonly maxLen?: number;
}

function sizeOf(value: RecordValue): number {
  return toJson(value).text.length;
}

export function createMemorySource(values: readonly RecordValue[] = [], name = 'memory'): MemorySource {
  const queue: FerryRecord[] = [];
  const inFlight = new Set<string>();
  let sequence = 0;
  let wake: (() => void) | undefined;

  const push = (more: readonly RecordValue[]): void => {
    for (const value of more) {
      sequence += 1;
      queue.push({ id: String(sequence), value, readAt: 0, bytes: sizeOf(value) });
    }
    wake?.();
  };
  push(values);

  const take = (max: number): FerryRecord[] => {
    const taken: FerryRecord[] = [];
    for (const record of queue) {
      if (taken.length >= max) break;
      if (inFlight.has(record.id)) continue;
      inFlight.add(record.id);
      taken.push({ ...record, readAt: Date.now() });
    }
    return taken;
  };

  const waitForMore = (options: ReadOptions): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, options.waitMs);
      options.signal?.addEventListener('abort', done, { once: true });
      wake = done;
    });

  return {
    name,
    push,
    remaining: () => [...queue],
    async open() {},
    async read(max, options) {
      let records = take(max);
      if (records.length === 0 && options.waitMs > 0 && !options.signal?.aborted) {
        await waitForMore(options);
        records = take(max);
      }
      return { records, handle: records.map((r) => r.id) };
    },
    async ack(batch: SourceBatch<readonly string[]>) {
      const acked = new Set(batch.handle);
      for (let i = queue.length - 1; i >= 0; i--) {
        if (acked.has(queue[i]!.id)) queue.splice(i, 1);
      }
      for (const id of batch.handle) inFlight.delete(id);
    },
    async release(batch: SourceBatch<readonly string[]>) {
      for (const id of batch.handle) inFlight.delete(id);
    },
    async backlog() {
      return queue.length - inFlight.size;
    },
    async close() {
      // Closing without ack is a crash as far as the records know: they come back.
      inFlight.clear();
    },
  };
}

export function createMemorySink(options: MemorySinkOptions = {}, name = 'memory'): MemorySink {
  const maxLen = options.maxLen ?? Number.POSITIVE_INFINITY;
  const records: FerryRecord[] = [];
  let examined = 0;
  return {
    name,
    records,
    get examined() {
      return examined;
    },
    async open() {},
    async free() {
      return Math.max(0, maxLen - records.length);
    },
    async write(batch) {
      records.push(...batch);
    },
    /** The position is how many records the sink held: a batch written since is at that index or after. */
    async position() {
      return String(records.length);
    },
    async reconcile(batch, since) {
      const from = since === undefined ? 0 : Number(since);
      const present = new Set<string>();
      for (let i = from; i < records.length; i++) present.add(records[i]!.id);
      examined += records.length - from;
      return batch.filter((r) => !present.has(r.id));
    },
    async close() {},
  };
}
