import { parseConfig } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { planFlow, validateConfig } from '../jobs/flow-builder.js';

const registry = createRegistry();
const config = (url: string, flow: object, control?: object) =>
  parseConfig(
    { connections: { default: { kind: 'redis-stream', url } }, flows: { f: flow }, ...(control ? { control } : {}) },
    'config',
    registry.kinds(),
  );

describe('the control store is off limits', () => {
  it('refuses a source on its keys, told with the flow and the role', () => {
    const flow = { source: { stream: 'ops:ferry-flows:events', mode: 'range' }, sink: { stream: 'out' } };
    const c = config('redis://localhost:6379', flow, { url: 'redis://127.0.0.1:6379/0', prefix: 'ops' });
    expect(() => planFlow(c, 'f', registry)).toThrow(
      '[ferry] flow "f", source: stream "ops:ferry-flows:events" is the control store\'s (127.0.0.1:6379/0, prefix "ops"), where ferry keeps its jobs, journal and locks: name a stream outside "ops:"',
    );
    expect(validateConfig(c, registry)[0]?.problems).toEqual([expect.stringContaining('is the control store')]);
  });

  it('refuses a sink and a dead-letter sink there, and the default store when the config names none', () => {
    const sink = config('redis://127.0.0.1', { source: { stream: 'in' }, sink: { stream: 'ferry:ferry-flows:wait' } });
    expect(() => planFlow(sink, 'f', registry)).toThrow('flow "f", sink: stream "ferry:ferry-flows:wait"');
    const dlq = config('redis://127.0.0.1', {
      source: { stream: 'in' },
      sink: { stream: 'out' },
      deadLetter: { stream: 'ferry' },
    });
    expect(() => planFlow(dlq, 'f', registry)).toThrow('flow "f", dead-letter sink: stream "ferry" is the control');
  });

  it('takes the same names in another database, on another server, or outside the prefix', () => {
    const control = { url: 'redis://127.0.0.1:6379', prefix: 'ferry' };
    const events = { source: { stream: 'ferry:ferry-flows:events' }, sink: { stream: 'out' } };
    expect(planFlow(config('redis://127.0.0.1:6379/2', events, control), 'f', registry).name).toBe('f');
    expect(planFlow(config('redis://127.0.0.1:6380', events, control), 'f', registry).name).toBe('f');
    const beside = { source: { stream: 'ferryman:in' }, sink: { stream: 'out' } };
    expect(planFlow(config('redis://127.0.0.1:6379', beside, control), 'f', registry).name).toBe('f');
  });
});
