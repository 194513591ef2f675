import { describe, expect, it } from 'vitest';
import type { Sink } from '../contracts.js';
import { toJson } from '../json.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { createPump } from './pump.js';
import type { PumpProgress } from './pump-progress.js';
import { run, values } from './test-support.js';

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
