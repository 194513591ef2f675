import { describe, expect, it } from 'vitest';
import type { Sink } from '../contracts.js';
import { FatalError } from '../errors.js';
import { toJson } from '../json.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { createPump } from './pump.js';
import {
  type BatchMoved,
  FlowFailedError,
  failure,
  type PumpProgress,
  progressOf,
  refreshBacklog,
  report,
} from './pump-progress.js';
import { run, stateOf, values } from './test-support.js';

describe('pump order', () => {
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

describe('pump: each batch told to onBatch', () => {
  it('tells every batch with its records and write time, before the progress that counts it', async () => {
    const events: (BatchMoved | PumpProgress)[] = [];
    const inner = createMemorySink();
    const sink: Sink = {
      ...inner,
      write: async (records) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return inner.write(records);
      },
    };
    const result = await run({
      source: createMemorySource(values(250)),
      sink,
      batchSize: 100,
      onBatch: (b) => events.push(b),
      onProgress: (p) => events.push(p),
    });
    const batches = events.filter((e): e is BatchMoved => 'writeMs' in e);
    expect(batches.map((b) => b.records)).toEqual([100, 100, 50]);
    expect(batches.length).toBe(result.batches);
    for (const b of batches) expect(b.writeMs).toBeGreaterThanOrEqual(4);
    // Each batch comes right before the progress that first counts it.
    for (const [i, e] of events.entries()) {
      if (!('writeMs' in e)) continue;
      const next = events[i + 1] as PumpProgress;
      expect(next.batches).toBe(batches.indexOf(e) + 1);
    }
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

describe('pump progress', () => {
  it('says nothing of what is not there: no skipped keys, backlog, wait, error or direct path', () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    expect(progressOf(state)).toEqual({ records: 0, deadLettered: 0, batches: 0, bytes: 0, elapsedMs: 0, rate: 0 });
  });

  it('takes what moved since the backlog was asked for off it, never below 0', () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    state.backlog = 100;
    state.recordsAtBacklog = 10;
    state.records = 40;
    expect(progressOf(state).backlog).toBe(70);
    state.records = 500;
    expect(progressOf(state).backlog).toBe(0);
  });

  it('names the wait, the last error, the skipped keys and the direct path when there are some', () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    state.lastError = 'writing a batch: busy';
    state.skippedFields = 2;
    state.firstSkipped = { id: '7', keys: ['k'] };
    state.direct = { name: 'same-server script', move: async () => ({ records: 0, bytes: 0 }) };
    expect(progressOf(state, 'full')).toMatchObject({
      waiting: 'full',
      lastError: 'writing a batch: busy',
      skippedFields: 2,
      firstSkipped: { id: '7', keys: ['k'] },
      direct: 'same-server script',
    });
  });

  it('reports to the listener only when there is one', () => {
    const seen: PumpProgress[] = [];
    report(stateOf({ source: createMemorySource(), sink: createMemorySink() }));
    report(
      stateOf({ source: createMemorySource(), sink: createMemorySink(), onProgress: (p) => seen.push(p) }),
      'empty',
    );
    expect(seen).toEqual([expect.objectContaining({ waiting: 'empty' })]);
  });

  it('fails the flow naming what it was doing, how far it got, and the cause', () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), flowName: 'demo' });
    state.batches = 2;
    state.records = 30;
    const cause = new FatalError('[memory] boom');
    const error = failure(state, cause, 'writing');
    expect(error).toBeInstanceOf(FlowFailedError);
    expect(error.message).toBe('[ferry] flow "demo" failed while writing after 2 batches (30 records): [memory] boom');
    expect(error.cause).toBe(cause);
    expect(error.progress).toMatchObject({ records: 30, batches: 2 });
  });

  it('asks the source for its backlog, and hides it when the source fails to tell', async () => {
    const source = createMemorySource(values(5));
    const state = stateOf({ source, sink: createMemorySink() });
    state.records = 3;
    await refreshBacklog(state);
    expect(state).toMatchObject({ backlog: 5, recordsAtBacklog: 3 });
    source.backlog = async () => {
      throw new Error('gone');
    };
    await refreshBacklog(state);
    expect(state.backlog).toBeUndefined();
  });
});
