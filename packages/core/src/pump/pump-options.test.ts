import { describe, expect, it } from 'vitest';
import { createMemorySink, createMemorySource } from '../memory.js';
import { defaultRetryPolicy } from '../retry.js';
import { createPump } from './pump.js';
import { settingsOf } from './pump-options.js';

describe('pump errors', () => {
  it('refuses a batch size that is not a positive integer', () => {
    expect(() => createPump({ source: createMemorySource(), sink: createMemorySink(), batchSize: 0 })).toThrow(
      /batchSize must be a positive integer, got 0/,
    );
  });
});

describe('pump options', () => {
  it('fills in the defaults and freezes the settings', () => {
    const source = createMemorySource();
    const sink = createMemorySink();
    const settings = settingsOf({ source, sink, batchSize: 10 });
    expect(settings).toMatchObject({
      source,
      sink,
      batchSize: 10,
      maxAttempts: 5,
      stopWhenEmpty: true,
      whenFull: 'wait',
      pollIntervalMs: 1000,
      policy: defaultRetryPolicy,
      label: 'flow',
    });
    expect(settings.maxBatches).toBeUndefined();
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('keeps what the options say over the defaults', () => {
    const retry = { retries: 1, initialDelayMs: 1, maxDelayMs: 1, factor: 1 };
    const settings = settingsOf({
      source: createMemorySource(),
      sink: createMemorySink(),
      batchSize: 1,
      maxAttempts: 2,
      maxBatches: 3,
      stopWhenEmpty: false,
      whenFull: 'stop',
      pollIntervalMs: 5,
      retry,
      flowName: 'demo',
    });
    expect(settings).toMatchObject({
      maxAttempts: 2,
      maxBatches: 3,
      stopWhenEmpty: false,
      whenFull: 'stop',
      pollIntervalMs: 5,
      policy: retry,
      flowName: 'demo',
      label: 'flow "demo"',
    });
  });

  it('names the flow when it refuses a batch size', () => {
    for (const batchSize of [-1, 1.5, Number.NaN]) {
      expect(() =>
        settingsOf({ source: createMemorySource(), sink: createMemorySink(), batchSize, flowName: 'demo' }),
      ).toThrow(`[ferry] flow "demo": batchSize must be a positive integer, got ${batchSize}`);
    }
  });
});
