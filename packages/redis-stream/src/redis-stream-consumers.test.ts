import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultConsumerName, isGoneConsumer, parseConsumers } from './redis-stream-consumers.js';

describe('isGoneConsumer', () => {
  const exited = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);

  it('is true only for host-pid of this host whose process has exited', () => {
    expect(isGoneConsumer(`${hostname()}-${exited}`)).toBe(true);
    expect(isGoneConsumer(defaultConsumerName())).toBe(false);
    expect(isGoneConsumer(`${hostname()}-${process.ppid}`)).toBe(false);
  });

  it('never judges a name of another host, or one given by hand', () => {
    expect(isGoneConsumer(`another-host-${exited}`)).toBe(false);
    expect(isGoneConsumer('worker-1', 'worker')).toBe(false);
    expect(isGoneConsumer(`${hostname()}-0`)).toBe(false);
    expect(isGoneConsumer(`${hostname()}-${exited}x`)).toBe(false);
  });
});

describe('parseConsumers', () => {
  it('reads name, pending and idle from an XINFO CONSUMERS reply', () => {
    expect(parseConsumers([['name', 'a', 'pending', 3, 'idle', 10, 'inactive', 5]])).toEqual([
      { name: 'a', pending: 3, idle: 10 },
    ]);
    expect(parseConsumers(null)).toEqual([]);
  });
});
