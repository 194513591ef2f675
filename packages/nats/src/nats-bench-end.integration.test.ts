import { createPump } from '@ferry/core';
import { uniqueName } from '@ferry/testkit';
import { describe, expect, it } from 'vitest';
import { openNatsBenchEnd } from './nats-bench-end.js';

describe('nats bench end', () => {
  it('seeds, drains by hand into a writer, and moves through the pump; counts on both sides', async () => {
    const end = await openNatsBenchEnd({ records: 16, batchSize: 8, round: 1 }, 'test');
    const [from, to, again] = [
      uniqueName('ferry.test.bench.from'),
      uniqueName('ferry.test.bench.to'),
      uniqueName('ferry.test.bench.again'),
    ];
    try {
      await end.seed(from, 16);
      expect(await end.left(from)).toBe(16);
      await end.fresh(to);
      expect(await end.drain(from, 8, 16, end.writer(to))).toBe(16);
      expect(await end.left(from)).toBe(0);
      expect(await end.arrived(to)).toBe(16);

      await end.seed(from, 16);
      await end.fresh(again);
      const result = await createPump({ source: end.source(from), sink: end.sink(again), batchSize: 8 }).run();
      expect(result).toMatchObject({ stopReason: 'empty', records: 16 });
      expect(await end.left(from)).toBe(0);
      expect(await end.arrived(again)).toBe(16);
    } finally {
      for (const name of [from, to, again]) await end.drop(name);
      await end.close();
    }
  });
});
