import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { defaultConnection } from '../control/index.js';
import { parseServerConfig } from '../server-config.js';
import { planJob } from './job-plan.js';
import type { FlowJobData } from './job-spec.js';

const registry = createRegistry();
const server = (url: string) =>
  parseServerConfig({
    connections: { default: defaultConnection(url) },
    flows: {
      copy: { source: { stream: 'in', mode: 'range' }, sink: { stream: 'out' } },
      group: { source: { stream: 'in', mode: 'group', group: 'g' }, sink: { stream: 'out' } },
    },
  });
const job = (name: string, more: Partial<FlowJobData> = {}): FlowJobData => ({
  name,
  parallelism: 1,
  origin: 'flows',
  ...more,
});

describe('planJob', () => {
  it('locks a single-reader source by what it reads, whatever the server is called', () => {
    const local = planJob(server('redis://localhost:6379'), job('copy'), registry);
    const loopback = planJob(server('redis://127.0.0.1'), job('copy'), registry);
    expect(local.singleReader).toBe(true);
    expect(local.lockName).toBe(loopback.lockName);
    expect(local.lockName).not.toContain('127.0.0.1');
  });

  it('builds each pump of a group from the one plan, under the name it is given', () => {
    const plan = planJob(server('redis://127.0.0.1'), job('group', { parallelism: 2 }), registry);
    expect(plan.singleReader).toBe(false);
    const names = ['ferry:group:0', 'ferry:group:1'].map(
      (reader) => (plan.instance(reader).spec.source as { consumer?: string }).consumer,
    );
    expect(names).toEqual(['ferry:group:0', 'ferry:group:1']);
  });

  it('gives a /s2s/ job the original full rule: room only when length plus a batch stays under max', () => {
    const data = job('copy', { fullRule: 'original' });
    const plain = planJob(server('redis://127.0.0.1'), job('copy'), registry).instance('r');
    const original = planJob(server('redis://127.0.0.1'), data, registry).instance('r');
    expect(original.sink).not.toBe(plain.sink);
    expect(original.sink.name).toBe(plain.sink.name);
  });
});
