import type { RecordValue, Source, SourceBatch } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueName } from './names.js';
import { sampleValues } from './records.js';

/** One test's world: a target name no other test or run uses. */
export interface SuiteContext {
  readonly name: string;
}

export interface SourceSuiteOptions {
  /** Labels the describe block: `redis-stream source (group mode)`. */
  readonly name: string;
  /** Prefix of the unique target names; `ferry.test` unless given. */
  readonly prefix?: string;
  /**
   * A fresh, unopened source on the context's target. Two calls with the same
   * context must read the same records (the crash test closes one and opens another).
   */
  create(ctx: SuiteContext): Source | Promise<Source>;
  /** Puts the values into the source's target, in this order. */
  seed(ctx: SuiteContext, values: readonly RecordValue[]): Promise<void>;
  /** How many records are still at the source (read or not, but not acked). */
  count?(ctx: SuiteContext): Promise<number>;
  /** Removes whatever the test left in the target. */
  cleanup?(ctx: SuiteContext): Promise<void>;
  /** How long a new instance may take to get back a batch a closed one never acked (default 5000). */
  readonly redeliveryTimeoutMs?: number;
  /** Extra tests of this connector, registered inside the same describe block. */
  additionalTests?(helpers: SuiteHelpers<Source>): void;
}

export interface SuiteHelpers<T> {
  /** A new context (unique name) for this test, cleaned up after it. */
  context(): SuiteContext;
  /** Creates and opens an instance on the context; it is closed after the test. */
  open(ctx: SuiteContext): Promise<T>;
}

/** Removes what the test left, even when it failed, and closes what it opened. */
export function trackResources<T extends { open(): Promise<void>; close(): Promise<void> }>(
  prefix: string,
  create: (ctx: SuiteContext) => T | Promise<T>,
  cleanup: ((ctx: SuiteContext) => Promise<void>) | undefined,
): SuiteHelpers<T> & { adopt(item: T): void } {
  const opened: T[] = [];
  const contexts: SuiteContext[] = [];
  afterEach(async () => {
    for (const item of opened.splice(0)) await item.close().catch(() => undefined);
    for (const ctx of contexts.splice(0)) await cleanup?.(ctx);
  });
  return {
    adopt(item) {
      opened.push(item);
    },
    context() {
      const ctx = { name: uniqueName(prefix) };
      contexts.push(ctx);
      return ctx;
    },
    async open(ctx) {
      const item = await create(ctx);
      opened.push(item);
      await item.open();
      return item;
    },
  };
}

async function readAll(source: Source, max: number): Promise<SourceBatch[]> {
  const batches: SourceBatch[] = [];
  for (;;) {
    const batch = await source.read(max, { waitMs: 0 });
    if (batch.records.length === 0) return batches;
    batches.push(batch);
    await source.ack(batch);
  }
}

/**
 * The contract every source passes against its real server: what a user would
 * check by hand (counts, ids, contents, order, nothing lost after a crash).
 */
export function testSource(options: SourceSuiteOptions): void {
  describe(options.name, () => {
    const helpers = trackResources(options.prefix ?? 'ferry.test', options.create, options.cleanup);
    const { context, open } = helpers;
    const redeliveryTimeoutMs = options.redeliveryTimeoutMs ?? 5000;

    it('reads seeded records oldest first, values intact, ids unique', async () => {
      const ctx = context();
      const values = sampleValues(5);
      await options.seed(ctx, values);
      const source = await open(ctx);
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records.map((r) => r.value.n)).toEqual([0n, 1n, 2n, 3n, 4n]);
      for (const [i, record] of batch.records.entries()) {
        expect(record.value).toMatchObject(values[i]!);
        expect(typeof record.id).toBe('string');
        expect(record.readAt).toBeGreaterThan(0);
        expect(record.bytes).toBeGreaterThanOrEqual(0);
      }
      expect(new Set(batch.records.map((r) => r.id)).size).toBe(5);
    });

    it('never returns more than max, and batch after batch gives every record once, in order', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(7));
      const source = await open(ctx);
      const batches = await readAll(source, 3);
      for (const batch of batches) expect(batch.records.length).toBeLessThanOrEqual(3);
      expect(batches.flatMap((b) => b.records.map((r) => r.value.n))).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    });

    it('after ack the records are gone and the next read is empty', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(3));
      const source = await open(ctx);
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records).toHaveLength(3);
      await source.ack(batch);
      expect((await source.read(10, { waitMs: 0 })).records).toHaveLength(0);
      if (options.count) expect(await options.count(ctx)).toBe(0);
    });

    it('after release the same ids come back', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(3));
      const source = await open(ctx);
      const first = await source.read(10, { waitMs: 0 });
      await source.release(first);
      const again = await source.read(10, { waitMs: 0 });
      expect(again.records.map((r) => r.id)).toEqual(first.records.map((r) => r.id));
      expect(again.records.map((r) => r.value)).toEqual(first.records.map((r) => r.value));
      if (options.count) expect(await options.count(ctx)).toBe(3);
    });

    it('when it reads ahead: a read while a batch is out hands out the next records; acks in order drain it; a release gives both back', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(7));
      const source = await open(ctx);
      if (source.readAhead !== true) return;
      const first = await source.read(3, { waitMs: 0 });
      const second = await source.read(3, { waitMs: 0 });
      expect(first.records.map((r) => r.value.n)).toEqual([0n, 1n, 2n]);
      expect(second.records.map((r) => r.value.n)).toEqual([3n, 4n, 5n]);
      await source.ack(first);
      await source.ack(second);
      if (options.count) expect(await options.count(ctx)).toBe(1);

      const third = await source.read(3, { waitMs: 0 });
      await options.seed(ctx, sampleValues(2, 'more'));
      const fourth = await source.read(3, { waitMs: 0 });
      expect(third.records.map((r) => r.value.n)).toEqual([6n]);
      expect(fourth.records.map((r) => r.value.tag)).toEqual(['more-0', 'more-1']);
      await source.release(third);
      await source.release(fourth);
      const ids: string[] = [];
      const deadline = Date.now() + redeliveryTimeoutMs;
      while (ids.length < 3 && Date.now() < deadline) {
        const batch = await source.read(10, { waitMs: 200 });
        ids.push(...batch.records.map((r) => r.id));
        await source.ack(batch);
      }
      expect(ids).toEqual([...third.records, ...fourth.records].map((r) => r.id));
      if (options.count) expect(await options.count(ctx)).toBe(0);
    });

    it('when it acks while reading: an ack made while a read waits lands, and that read hands out only newer records', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(3));
      const source = await open(ctx);
      if (source.acksWhileReading !== true) return;
      const first = await source.read(3, { waitMs: 0 });
      const waiting = source.read(3, { waitMs: redeliveryTimeoutMs });
      await source.ack(first);
      await options.seed(ctx, sampleValues(2, 'more'));
      const second = await waiting;
      expect(first.records.map((r) => r.value.n)).toEqual([0n, 1n, 2n]);
      expect(second.records.map((r) => r.value.tag)).toEqual(['more-0', 'more-1']);
      await source.ack(second);
      if (options.count) expect(await options.count(ctx)).toBe(0);
    });

    it('a batch read but never acked by a closed instance comes back to a new one (no loss on crash)', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(4));
      const crashed = await open(ctx);
      const lost = await crashed.read(10, { waitMs: 0 });
      expect(lost.records).toHaveLength(4);
      await crashed.close();
      const next = await open(ctx);
      const ids: string[] = [];
      const deadline = Date.now() + redeliveryTimeoutMs;
      while (ids.length < 4 && Date.now() < deadline) {
        const batch = await next.read(10, { waitMs: 200 });
        ids.push(...batch.records.map((r) => r.id));
        await next.ack(batch);
      }
      expect(ids).toEqual(lost.records.map((r) => r.id));
    });

    it('reads an empty source promptly when waitMs is 0, and ack/release of an empty batch do nothing', async () => {
      const ctx = context();
      const source = await open(ctx);
      const started = Date.now();
      const batch = await source.read(10, { waitMs: 0 });
      expect(batch.records).toHaveLength(0);
      expect(Date.now() - started).toBeLessThan(1000);
      await source.ack(batch);
      await source.release(batch);
    });

    it('a waiting read returns records written after it started (follow)', async () => {
      const ctx = context();
      const source = await open(ctx);
      const started = Date.now();
      const reading = source.read(10, { waitMs: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await options.seed(ctx, sampleValues(1, 'late'));
      const batch = await reading;
      expect(batch.records.map((r) => r.value.tag)).toEqual(['late-0']);
      expect(Date.now() - started).toBeLessThan(4000);
    });

    it('a waiting read on an empty source returns empty after waitMs, or sooner on abort', async () => {
      const ctx = context();
      const source = await open(ctx);
      let started = Date.now();
      expect((await source.read(10, { waitMs: 300 })).records).toHaveLength(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      started = Date.now();
      expect((await source.read(10, { waitMs: 20_000, signal: controller.signal })).records).toHaveLength(0);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('backlog, when the source can tell, counts the records waiting', async () => {
      const ctx = context();
      await options.seed(ctx, sampleValues(6));
      const source = await open(ctx);
      if (source.backlog === undefined) return;
      const before = await source.backlog();
      if (before === undefined) return;
      expect(before).toBe(6);
      await source.ack(await source.read(4, { waitMs: 0 }));
      expect(await source.backlog()).toBe(2);
    });

    options.additionalTests?.({ context, open });
  });
}
