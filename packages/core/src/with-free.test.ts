import { describe, expect, it } from 'vitest';
import type { Sink } from './contracts.js';
import { createMemorySink } from './memory.js';
import type { FerryRecord } from './record.js';
import { withFree } from './with-free.js';

const record = (id: string): FerryRecord => ({ id, value: {}, readAt: 0, bytes: 2 });

describe('withFree', () => {
  it('replaces free and forwards every other member, the optional ones included', async () => {
    const calls: string[] = [];
    const sink: Sink = {
      name: 'full sink',
      open: async () => void calls.push('open'),
      free: async () => 10,
      write: async (records) => void calls.push(`write ${records.length}`),
      position: async () => '7-0',
      reconcile: async (records, since) => {
        calls.push(`reconcile since ${since}`);
        return records.slice(1);
      },
      directTarget: () => ({ stream: 'out' }),
      close: async () => void calls.push('close'),
    };
    const wrapped = withFree(sink, async () => 0);
    await wrapped.open();
    expect(await wrapped.free()).toBe(0);
    await wrapped.write([record('1')]);
    expect(await wrapped.position?.()).toBe('7-0');
    expect(await wrapped.reconcile?.([record('1'), record('2')], '7-0')).toHaveLength(1);
    expect(wrapped.directTarget?.()).toEqual({ stream: 'out' });
    await wrapped.close();
    expect(wrapped.name).toBe('full sink');
    expect(calls).toEqual(['open', 'write 1', 'reconcile since 7-0', 'close']);
  });

  it('leaves out what the sink does not have, and reads a target the sink sets when it opens', async () => {
    let target: unknown;
    const sink = { ...createMemorySink(), directTarget: () => target };
    const bare = withFree(
      { name: 'bare', open: async () => {}, free: async () => 5, write: async () => {}, close: async () => {} },
      async () => 1,
    );
    expect('reconcile' in bare).toBe(false);
    expect('directTarget' in bare).toBe(false);
    expect('position' in bare).toBe(false);
    const wrapped = withFree(sink, async () => 1);
    expect(wrapped.directTarget?.()).toBeUndefined();
    target = { stream: 'set on open' };
    expect(wrapped.directTarget?.()).toEqual({ stream: 'set on open' });
  });
});
