import { describe, expect, it } from 'vitest';
import { createRegistry, installedConnectors } from '../connectors.js';
import type { JobView } from '../control/jobs.js';
import { parseServerConfig } from '../server-config.js';
import { createDashboardMonitor } from './dashboard-monitor.js';
import type { DashboardSnapshot } from './dashboard-snapshot.js';
import type { DepthProbe } from './depth-probe.js';

const server = parseServerConfig({
  connections: {
    default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
    rabbit: { kind: 'rabbitmq', url: 'amqp://127.0.0.1:5672' },
  },
  flows: {
    copy: { source: { stream: 'in' }, sink: { stream: 'out' }, deadLetter: { stream: 'dlq' } },
    publish: { source: { stream: 'out' }, sink: { connection: 'rabbit', queue: 'gone' } },
  },
});

/** A queue whose jobs the test changes between looks, and a probe that counts from a table. */
function fakes() {
  const state = { jobs: [] as JobView[], lists: 0 };
  const store = {
    list: async () => {
      state.lists += 1;
      return state.jobs;
    },
    schedules: async () => [{ id: 'nightly', name: 'copy', cron: '0 3 * * *' }],
  };
  const depths: Record<string, number> = { 'default/in': 40, 'default/out': 0, 'default/dlq': 2 };
  const probe: DepthProbe = {
    depth: async (e) => {
      const n = depths[e.id];
      if (n === undefined) throw new Error(`no queue '${e.name}' in vhost '/'`);
      return n;
    },
    latest: async (e) => (e.id === 'default/dlq' ? [{ id: '1-0', reason: 'not JSON', sourceId: '7-0' }] : undefined),
    close: async () => {},
  };
  return { state, store, depths, probe };
}

const job = (records: number, state: JobView['state'], extra: Partial<JobView> = {}): JobView => ({
  id: 'job-1',
  name: 'copy',
  state,
  attempts: 0,
  ...(state === 'completed'
    ? { result: { records, stopReason: 'empty', edge: 'S2S', rate: 100, deadLettered: 0 } }
    : { progress: { records, rate: 50, backlog: 400 - records, edge: 'S2S' } }),
  ...extra,
});

describe('the dashboard monitor', () => {
  it('sends pictures while someone listens: jobs with sampled rates, depths over time, dead letters', async () => {
    const { state, store, depths, probe } = fakes();
    const monitor = createDashboardMonitor({
      store,
      server,
      registry: createRegistry(),
      probe,
      intervalMs: 10,
      depthIntervalMs: 10,
    });
    const seen: DashboardSnapshot[] = [];
    const unsubscribe = monitor.subscribe((snapshot, json) => {
      expect(JSON.parse(json)).toEqual(snapshot);
      seen.push(snapshot);
    });
    const latest = () => seen.at(-1);

    state.jobs = [job(0, 'active')];
    await expect.poll(() => latest()?.jobs[0]?.records).toBe(0);
    state.jobs = [job(100, 'active')];
    depths['default/in'] = 30;
    await expect.poll(() => latest()?.jobs[0]?.records).toBe(100);
    state.jobs = [job(300, 'completed')];
    depths['default/in'] = 0;
    await expect.poll(() => latest()?.jobs[0]?.state).toBe('completed');

    const snapshot = latest()!;
    const done = snapshot.jobs[0]!;
    expect(done).toMatchObject({ id: 'job-1', edge: 'S2S', records: 300, stopReason: 'empty' });
    expect(done.backlog).toBeUndefined();
    // One sample per look while it ran, and the last at its end: the moves between them are the chart.
    expect(done.rates.length).toBeGreaterThanOrEqual(2);
    expect(done.rates.some((r) => r > 0)).toBe(true);
    await expect.poll(() => latest()?.endpoints.find((e) => e.id === 'default/in')?.depth).toBe(0);
    const input = latest()!.endpoints.find((e) => e.id === 'default/in')!;
    expect(input.history.map(([, n]) => n)).toEqual(expect.arrayContaining([40, 30, 0]));
    expect(latest()!.endpoints.find((e) => e.id === 'rabbit/gone')).toMatchObject({
      what: 'queue',
      error: "no queue 'gone' in vhost '/'",
      history: [],
    });
    expect(latest()!.deadLetters).toEqual([
      { flow: 'copy', endpoint: 'default/dlq', count: 2, latest: [{ id: '1-0', reason: 'not JSON', sourceId: '7-0' }] },
    ]);
    expect(latest()!.schedules).toEqual([{ id: 'nightly', name: 'copy', cron: '0 3 * * *' }]);
    expect(latest()!.systems.map((s) => [s.letter, s.kind, s.holds])).toEqual(
      installedConnectors.map((c) => [c.letter, c.kind, c.holds]),
    );
    expect(latest()!.systems.map((s) => [s.letter, s.kind, s.holds])).toEqual(
      expect.arrayContaining([
        ['S', 'redis-stream', 'stream'],
        ['Q', 'rabbitmq', 'stream'],
        ['M', 'mongo', 'store'],
        ['C', 'clickhouse', 'store'],
      ]),
    );
    expect(latest()!.edges.find((e) => e.name === 'S2S')?.flows).toEqual(['copy']);
    expect(latest()!.edges.find((e) => e.name === 'S2Q')?.flows).toEqual(['publish']);

    // Nobody listens: nothing is polled any more.
    unsubscribe();
    const lists = state.lists;
    await new Promise((r) => setTimeout(r, 50));
    expect(state.lists).toBeLessThanOrEqual(lists + 1);
    await monitor.close();
  });

  it('counts running jobs on their edge, and shows a control store that does not answer', async () => {
    const { state, store, probe } = fakes();
    const monitor = createDashboardMonitor({ store, server, registry: createRegistry(), probe });
    state.jobs = [job(10, 'active'), { ...job(0, 'waiting'), id: 'job-2', name: 'adhoc', progress: undefined }];
    let snapshot = await monitor.snapshot();
    expect(snapshot.edges.find((e) => e.name === 'S2S')?.active).toBe(1);
    expect(snapshot.jobs[1]).toMatchObject({ id: 'job-2', state: 'waiting', records: 0 });
    expect(snapshot.jobs[1]?.edge).toBeUndefined();

    store.list = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    };
    snapshot = await monitor.snapshot();
    expect(snapshot.controlError).toMatch(/control store did not answer: .*ECONNREFUSED/);
    expect(snapshot.jobs.map((j) => j.id)).toEqual(['job-1', 'job-2']);
    await monitor.close();
  });
});
