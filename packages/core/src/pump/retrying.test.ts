import { describe, expect, it } from 'vitest';
import { FatalError, TransientError } from '../errors.js';
import { createMemorySink, createMemorySource } from '../memory.js';
import { AbortedError } from '../retry.js';
import type { PumpProgress } from './pump-progress.js';
import { retrying } from './retrying.js';
import { stateOf } from './test-support.js';

/** A call that fails transiently `times` times, then answers. */
function failing(times: number) {
  let calls = 0;
  const fn = async () => {
    calls += 1;
    if (calls <= times) throw new TransientError(`[memory] busy ${calls}`);
    return 'done';
  };
  return { fn, calls: () => calls };
}

describe('pump retrying', () => {
  it('retries transient failures, reporting each as the last error with what was being done', async () => {
    const seen: PumpProgress[] = [];
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), onProgress: (p) => seen.push(p) });
    const call = failing(2);
    await expect(retrying(state, 'writing a batch', call.fn, true)).resolves.toBe('done');
    expect(call.calls()).toBe(3);
    expect(seen.map((p) => p.lastError)).toEqual([
      expect.stringMatching(/^writing a batch: \[memory\] busy 1 \(retry 1 in \d+ ms\)$/),
      expect.stringMatching(/^writing a batch: \[memory\] busy 2 \(retry 2 in \d+ ms\)$/),
    ]);
    expect(state.lastError).toMatch(/busy 2/);
  });

  it('gives up after the policy’s retries, and at once on an error that is not transient', async () => {
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink() });
    const call = failing(10);
    await expect(retrying(state, 'reading a batch', call.fn, true)).rejects.toThrow(/busy 4/);
    expect(call.calls()).toBe(4);
    let calls = 0;
    const fatal = async () => {
      calls += 1;
      throw new FatalError('[memory] no such stream');
    };
    await expect(retrying(state, 'reading a batch', fatal, true)).rejects.toThrow(FatalError);
    expect(calls).toBe(1);
  });

  it('stops retrying on abort only when abortable: an ack goes on until it lands', async () => {
    const controller = new AbortController();
    controller.abort();
    const state = stateOf({ source: createMemorySource(), sink: createMemorySink(), signal: controller.signal });
    await expect(retrying(state, 'writing a batch', failing(1).fn, true)).rejects.toThrow(AbortedError);
    await expect(retrying(state, 'acking a batch', failing(1).fn, false)).resolves.toBe('done');
  });
});
