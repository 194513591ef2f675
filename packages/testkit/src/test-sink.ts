import type { RecordValue, Sink } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { sampleRecords } from './records.js';
import { type SuiteContext, type SuiteHelpers, trackResources } from './test-source.js';

/** One record as found in the sink's target. */
export interface WrittenRecord {
  /** The source id the sink kept with the record (`_source_id`, a header, a column…). */
  readonly sourceId: string | undefined;
  /** The record's value without the source-id bookkeeping. */
  readonly value: RecordValue;
}

export interface SinkSuiteOptions {
  readonly name: string;
  readonly prefix?: string;
  /** A fresh, unopened sink on the context's target, without a capacity (maxLen). */
  create(ctx: SuiteContext): Sink | Promise<Sink>;
  /** A fresh, unopened sink with this capacity, when the sink supports one. */
  createWithMaxLen?(ctx: SuiteContext, maxLen: number): Sink | Promise<Sink>;
  /** What the target now holds, oldest first. */
  readBack(ctx: SuiteContext): Promise<readonly WrittenRecord[]>;
  /** How many records the target holds. */
  count(ctx: SuiteContext): Promise<number>;
  cleanup?(ctx: SuiteContext): Promise<void>;
  additionalTests?(
    helpers: SuiteHelpers<Sink> & { openWithMaxLen(ctx: SuiteContext, maxLen: number): Promise<Sink> },
  ): void;
}

/** The contract every sink passes against its real server. */
export function testSink(options: SinkSuiteOptions): void {
  describe(options.name, () => {
    const helpers = trackResources(options.prefix ?? 'ferry.test', options.create, options.cleanup);
    const openWithMaxLen = async (ctx: SuiteContext, maxLen: number): Promise<Sink> => {
      if (options.createWithMaxLen === undefined) throw new Error(`${options.name}: no createWithMaxLen`);
      const sink = await options.createWithMaxLen(ctx, maxLen);
      helpers.adopt(sink);
      await sink.open();
      return sink;
    };
    const { context, open } = helpers;

    it('writes records that read back with the same values and source ids, in order', async () => {
      const ctx = context();
      const sink = await open(ctx);
      const records = sampleRecords(5);
      await sink.write(records.slice(0, 2));
      await sink.write(records.slice(2));
      const written = await options.readBack(ctx);
      expect(written.map((w) => w.sourceId)).toEqual(records.map((r) => r.id));
      expect(written.map((w) => w.value)).toEqual(records.map((r) => r.value));
      expect(await options.count(ctx)).toBe(5);
    });

    it('write([]) writes nothing', async () => {
      const ctx = context();
      const sink = await open(ctx);
      await sink.write([]);
      expect(await options.count(ctx)).toBe(0);
    });

    it('free() is Infinity without a capacity', async () => {
      const sink = await open(context());
      expect(await sink.free()).toBe(Number.POSITIVE_INFINITY);
    });

    it.skipIf(options.createWithMaxLen === undefined)(
      'free() is maxLen minus what the target holds, and 0 (never negative) when full',
      async () => {
        const ctx = context();
        const sink = await openWithMaxLen(ctx, 5);
        expect(await sink.free()).toBe(5);
        await sink.write(sampleRecords(3));
        expect(await sink.free()).toBe(2);
        await sink.write(sampleRecords(2, 'more'));
        expect(await sink.free()).toBe(0);
        // free() is advice for the pump: a write past it still lands, and free() stays at 0.
        await sink.write(sampleRecords(1, 'over'));
        expect(await sink.free()).toBe(0);
      },
    );

    it('reconcile, when present, returns only the records not yet written', async (test) => {
      const ctx = context();
      const sink = await open(ctx);
      if (sink.reconcile === undefined) return test.skip();
      const records = sampleRecords(5);
      expect((await sink.reconcile(records)).map((r) => r.id)).toEqual(records.map((r) => r.id));
      await sink.write(records.slice(0, 3));
      expect((await sink.reconcile(records)).map((r) => r.id)).toEqual(['rec-3', 'rec-4']);
      await sink.write(await sink.reconcile(records));
      expect(await sink.reconcile(records)).toEqual([]);
      expect(await options.count(ctx)).toBe(5);
    });

    options.additionalTests?.({ context, open, openWithMaxLen });
  });
}
