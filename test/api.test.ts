import { parseExposition, sampleValue } from '@ferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
const token = 'test-token-e2e';
const config = configFile(
  [
    'connections:',
    `  default: { kind: redis-stream, url: "${redisUrl}" }`,
    `  other: { kind: redis-stream, url: "${redisUrl}" }`,
  ].join('\n'),
);
const prefixes: string[] = [];
const processes: FerryProcess[] = [];

function prefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

async function start(mode: 'serve' | 'api' | 'worker', p: string, extra: string[] = []): Promise<FerryProcess> {
  const proc = await startFerry(mode, ['--config', config, '--prefix', p, ...extra], { FERRY_API_TOKEN: token });
  processes.push(proc);
  return proc;
}

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  for (const p of prefixes) await dropPrefix(p);
  await streams.cleanup();
});

const s2sDict = (source: string, target: string, batch: number, maxExec: number) => ({
  target_q_max_len: 100000,
  source_read_batch_num: batch,
  target_write_batch_num: batch,
  source_redis_agent_host: 'http://127.0.0.1:24021/',
  source_connection_hash: null,
  target_redis_agent_host: 'http://127.0.0.1:24021/',
  target_connection_hash: null,
  source_stream: source,
  target_stream: target,
  max_exec_cnt: maxExec,
});

/** Every `_source_id` of the sinks, checked for doubles; resolves to how many there are. */
async function distinctSourceIds(...sinks: string[]): Promise<number> {
  const ids: string[] = [];
  for (const sink of sinks) for (const entry of await streams.entries(sink)) ids.push(entry._source_id!);
  expect(new Set(ids).size).toBe(ids.length);
  return ids.length;
}

describe('ferry serve: the HTTP API against real Redis', () => {
  let server: FerryProcess;
  let api: ReturnType<typeof apiClient>;
  const p = prefix('serve');

  beforeAll(async () => {
    server = await start('serve', p, ['--concurrency', '2']);
    api = apiClient(server.url, token);
  });

  it('answers 400 naming the problem and queues nothing; 401 without or with a wrong token', async () => {
    const bad: [string, unknown, RegExp][] = [
      ['/flows', '{"source": {', /JSON/],
      ['/flows', { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: 'many' }, /batchSize.*"many"/],
      ['/flows', { source: { connection: 'nope', stream: 'a' }, sink: { stream: 'b' } }, /no connection named "nope"/],
      ['/flows', { source: { stream: 'a' }, sink: { stream: 'b' }, batchSize: -1 }, /batchSize.*-1/],
      ['/s2s/', { ...s2sDict('a', 'b', 1, 1), source_read_batch_num: -3 }, /source_read_batch_num.*-3/],
      ['/s2s/', { ...s2sDict('a', 'b', 1, 1), source_connection_hash: 'missing' }, /no connection named "missing"/],
      [
        '/flows',
        { source: { stream: 'loop' }, sink: { connection: 'other', stream: 'loop' } },
        /flow "api": its sink is its source, stream "loop" on 127\.0\.0\.1:6379\/0 \(connections "default" and "other", one server\)/,
      ],
      ['/s2s/', s2sDict('loop', 'loop', 1, 1), /flow "s2s": its sink is its source, stream "loop"/],
    ];
    for (const [path, body, message] of bad) {
      const res = await api.post(path, body, typeof body === 'string');
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    const jobs = (await (await api.get('/jobs')).json()) as { jobs: unknown[] };
    expect(jobs.jobs).toEqual([]);

    const anonymous = apiClient(server.url);
    expect((await anonymous.get('/jobs')).status).toBe(401);
    expect((await anonymous.post('/s2s/', s2sDict('a', 'b', 1, 1))).status).toBe(401);
    expect((await apiClient(server.url, 'wrong').get('/metrics')).status).toBe(401);
    expect((await anonymous.get('/health')).status).toBe(200);
    expect(((await (await api.get('/jobs')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it('runs the original example: 10,000 messages in, max_exec_cnt 10, batch 1 → exactly 10 moved', async () => {
    const source = streams.name('orig.in');
    const sink = streams.name('orig.out');
    await streams.seed(source, 10_000);
    const res = await api.post('/s2s/', s2sDict(source, sink, 1, 10));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const id = await res.text();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const job = await api.waitFor(id);
    expect(job).toMatchObject({ state: 'completed', result: { records: 10, batches: 10, stopReason: 'maxBatches' } });
    expect(await streams.len(sink)).toBe(10);
    expect(await streams.len(source)).toBe(9_990);
  });

  it('drains a stream through /s2s/ with a large max_exec_cnt', async () => {
    const source = streams.name('drain.in');
    const sink = streams.name('drain.out');
    const ids = await streams.seed(source, 5_000);
    const id = await (await api.post('/s2s/', s2sDict(source, sink, 500, 1000))).text();
    const job = await api.waitFor(id);
    // One Redis on both ends: the batches move inside it, under the original room rule.
    expect(job).toMatchObject({
      state: 'completed',
      result: { records: 5_000, stopReason: 'empty', direct: 'same-server script' },
    });
    expect(await streams.len(source)).toBe(0);
    const out = await streams.entries(sink);
    expect(out.map((e) => e._source_id)).toEqual(ids);
  });

  it('stops at the original "target full" rule: length + batch reaching target_q_max_len', async () => {
    const source = streams.name('full.in');
    const sink = streams.name('full.out');
    await streams.seed(source, 100);
    const id = await (await api.post('/s2s/', { ...s2sDict(source, sink, 10, 100), target_q_max_len: 55 })).text();
    const job = await api.waitFor(id);
    // 0,10,...,40 pass (40 + 10 < 55); at 50, 50 + 10 >= 55: full.
    expect(job).toMatchObject({
      state: 'completed',
      result: { records: 50, stopReason: 'full', direct: 'same-server script' },
    });
  });

  it('cancels a running job: it stops cleanly, nothing lost or doubled', async () => {
    const source = streams.name('cancel.in');
    const sink = streams.name('cancel.out');
    const total = 30_000;
    await streams.seed(source, total);
    const res = await api.post('/flows', { source: { stream: source }, sink: { stream: sink }, batchSize: 5 });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await api.waitFor(id, (j) => (j.progress?.records ?? 0) > 0);
    const cancel = await api.post(`/jobs/${id}/cancel`, {});
    expect(cancel.status).toBe(202);
    const job = await api.waitFor(id);
    expect(job.state).toBe('cancelled');
    expect(job.result.stopReason).toBe('aborted');
    const moved = await streams.len(sink);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(total);
    expect(moved).toBe(job.result.records);
    expect(moved + (await streams.len(source))).toBe(total);
    expect(await distinctSourceIds(sink)).toBe(moved);
  });

  it('removes a waiting job on cancel and reports it cancelled', async () => {
    const busy = streams.name('waiting.in');
    await streams.seed(busy, 20_000);
    // Two slow jobs fill the worker's two slots; the third waits.
    const slow = { source: { stream: busy }, sink: { stream: streams.name('waiting.out') }, batchSize: 5 };
    const a = ((await (await api.post('/flows', slow)).json()) as { id: string }).id;
    const slow2 = {
      source: { stream: streams.name('waiting2.in'), mode: 'group' },
      sink: { stream: streams.name('waiting2.out') },
      stopWhenEmpty: false,
    };
    const b = ((await (await api.post('/flows', slow2)).json()) as { id: string }).id;
    await api.waitFor(b, (j) => j.state === 'active');
    const c = (
      (await (await api.post('/flows', { ...slow, sink: { stream: streams.name('waiting3.out') } })).json()) as {
        id: string;
      }
    ).id;
    const cancelled = (await (await api.post(`/jobs/${c}/cancel`, {})).json()) as { state: string };
    expect(['cancelled', 'active']).toContain(cancelled.state);
    expect((await api.waitFor(c)).state).toBe('cancelled');
    // Removed from the queue, yet listed as cancelled.
    const listed = (await (await api.get('/jobs?state=cancelled')).json()) as { jobs: { id: string; state: string }[] };
    expect(listed.jobs.map((j) => j.id)).toContain(c);
    expect(listed.jobs.every((j) => j.state === 'cancelled')).toBe(true);
    const all = (await (await api.get('/jobs')).json()) as { jobs: { id: string }[] };
    expect(all.jobs.map((j) => j.id)).toContain(c);
    for (const id of [a, b]) await api.post(`/jobs/${id}/cancel`, {});
    expect((await api.waitFor(b)).state).toBe('cancelled');
    expect((await api.waitFor(a)).state).toBe('cancelled');
  });

  it('runs two jobs on one range-mode source one after the other: no record twice', async () => {
    const source = streams.name('two.in');
    const sinkA = streams.name('two.outA');
    const sinkB = streams.name('two.outB');
    const total = 20_000;
    await streams.seed(source, total);
    const post = async (sink: string) =>
      (
        (await (
          await api.post('/flows', { source: { stream: source, mode: 'range' }, sink: { stream: sink }, batchSize: 50 })
        ).json()) as { id: string }
      ).id;
    const [a, b] = await Promise.all([post(sinkA), post(sinkB)]);
    const [ja, jb] = await Promise.all([api.waitFor(a!), api.waitFor(b!)]);
    expect(ja.state).toBe('completed');
    expect(jb.state).toBe('completed');
    expect(ja.result.records + jb.result.records).toBe(total);
    expect(await streams.len(source)).toBe(0);
    expect(await distinctSourceIds(sinkA, sinkB)).toBe(total);
  });

  it('runs parallelism: N pumps on a consumer group, every record once', async () => {
    const source = streams.name('par.in');
    const sink = streams.name('par.out');
    await streams.seed(source, 6_000);
    const body = {
      source: { stream: source, mode: 'group', group: 'g' },
      sink: { stream: sink },
      batchSize: 100,
      parallelism: 3,
    };
    const { id } = (await (await api.post('/flows', body)).json()) as { id: string };
    const job = await api.waitFor(id);
    expect(job).toMatchObject({ state: 'completed', result: { records: 6_000, instances: 3, stopReason: 'empty' } });
    expect(await distinctSourceIds(sink)).toBe(6_000);
  });

  it('serves Prometheus text that parses, with the records moved per flow and edge', async () => {
    const res = await api.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?\d+(\.\d+)?(e[+-]?\d+)?$/;
    const comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;
    // Families are apart by an empty line, which the format allows.
    for (const line of text.trimEnd().split('\n')) {
      if (line !== '') expect(line).toMatch(line.startsWith('#') ? comment : sample);
    }
    parseExposition(text);
    const moved = /^ferry_records_moved_total\{flow="s2s",edge="S2S"\} (\d+)$/m.exec(text);
    expect(Number(moved?.[1])).toBeGreaterThanOrEqual(5_060);
    expect(text).toMatch(/^ferry_jobs\{state="completed"\} \d+$/m);
  });

  it('counts each batch of a job in the histograms of batch size and write time, as many as the batches moved', async () => {
    const name = `hist-${process.pid}-${Date.now().toString(36)}`;
    const flow = { name, source: { stream: streams.name('hist.in') }, sink: { stream: streams.name('hist.out') } };
    await streams.seed(flow.source.stream, 1_050);
    const { id } = (await (await api.post('/flows', { ...flow, batchSize: 100 })).json()) as { id: string };
    const job = await api.waitFor(id);
    expect(job).toMatchObject({ state: 'completed', result: { records: 1_050, batches: 11 } });

    const families = parseExposition(await (await api.get('/metrics')).text());
    const labels = { flow: name, edge: 'S2S' };
    expect(families.get('ferry_batch_size_records')?.type).toBe('histogram');
    expect(families.get('ferry_batch_write_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'ferry_batches_total', labels)).toBe(11);
    expect(sampleValue(families, 'ferry_batch_size_records_count', labels)).toBe(11);
    expect(sampleValue(families, 'ferry_batch_size_records_sum', labels)).toBe(1_050);
    expect(sampleValue(families, 'ferry_batch_size_records_bucket', { ...labels, le: '50' })).toBe(1);
    expect(sampleValue(families, 'ferry_batch_size_records_bucket', { ...labels, le: '100' })).toBe(11);
    expect(sampleValue(families, 'ferry_batch_write_duration_seconds_count', labels)).toBe(11);
    expect(sampleValue(families, 'ferry_batch_write_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  it('lists jobs by state, edges and connections without URLs, schedules', async () => {
    const done = (await (await api.get('/jobs?state=completed')).json()) as { jobs: { state: string }[] };
    expect(done.jobs.length).toBeGreaterThanOrEqual(4);
    expect(done.jobs.every((j) => j.state === 'completed')).toBe(true);
    expect((await api.get('/jobs?state=nope')).status).toBe(400);
    const connections = await (await api.get('/connections')).text();
    expect(connections).not.toContain('redis://');
    const { edges, systems } = (await (await api.get('/edges')).json()) as { edges: unknown[]; systems: unknown[] };
    // Every ordered pair of the registered systems, the four of the stack among them.
    expect(edges).toHaveLength(systems.length ** 2);
    expect(systems.length).toBeGreaterThanOrEqual(4);

    const source = streams.name('sched.in');
    await streams.seed(source, 10);
    const body = {
      id: 'every-second',
      every: 1,
      flow: { name: 'sched', source: { stream: source }, sink: { stream: streams.name('sched.out') } },
    };
    expect((await api.post('/schedules', body)).status).toBe(201);
    const list = (await (await api.get('/schedules')).json()) as { schedules: { id: string; everySeconds: number }[] };
    expect(list.schedules).toEqual([expect.objectContaining({ id: 'every-second', everySeconds: 1 })]);
    await expect.poll(() => streams.len(source), { timeout: 10_000 }).toBe(0);
    const del = await fetch(`${server.url}/schedules/every-second`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(204);
    expect(((await (await api.get('/schedules')).json()) as { schedules: unknown[] }).schedules).toEqual([]);
  });
  it('runs a cron schedule (6 fields, with seconds) and stops it on DELETE', async () => {
    const source = streams.name('cron.in');
    const sink = streams.name('cron.out');
    await streams.seed(source, 20);
    const bad = await api.post('/schedules', {
      id: 'cron-bad',
      cron: 'every now and then',
      flow: { source: { stream: source }, sink: { stream: sink } },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/cron/);

    const body = {
      id: 'cron-2s',
      cron: '*/2 * * * * *',
      flow: { name: 'cron', source: { stream: source }, sink: { stream: sink }, batchSize: 5, maxBatches: 1 },
    };
    expect((await api.post('/schedules', body)).status).toBe(201);
    const list = (await (await api.get('/schedules')).json()) as {
      schedules: { id: string; cron?: string; next?: string }[];
    };
    const entry = list.schedules.find((s) => s.id === 'cron-2s');
    expect(entry).toMatchObject({ cron: '*/2 * * * * *' });
    expect(Date.parse(entry!.next!) - Date.now()).toBeLessThanOrEqual(2_100);

    // Every two seconds a job moves one batch of 5.
    await expect.poll(() => streams.len(sink), { timeout: 6_000, interval: 100 }).toBeGreaterThanOrEqual(10);
    type Completed = { jobs: { name: string; origin?: string; scheduler?: string; result: { records: number } }[] };
    const cronRuns = async () =>
      ((await (await api.get('/jobs?state=completed')).json()) as Completed).jobs.filter((j) => j.name === 'cron');
    // The second run's batch is in the stream a moment before its job is recorded as completed.
    await expect
      .poll(async () => (await cronRuns()).length, { timeout: 3_000, interval: 100 })
      .toBeGreaterThanOrEqual(2);
    const runs = await cronRuns();
    expect(runs.every((j) => j.origin === 'schedule' && j.result.records === 5)).toBe(true);

    const del = await fetch(`${server.url}/schedules/cron-2s`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(204);
    await new Promise((r) => setTimeout(r, 500)); // a run that had started when it was deleted ends
    const after = await streams.len(sink);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await streams.len(sink)).toBe(after);
    expect(after + (await streams.len(source))).toBe(20);
    const left = (await (await api.get('/schedules')).json()) as { schedules: { id: string }[] };
    expect(left.schedules.map((s) => s.id)).not.toContain('cron-2s');
    const gone = await fetch(`${server.url}/schedules/cron-2s`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(gone.status).toBe(404);
  });
});

describe('ferry api + two ferry workers', () => {
  it('share the jobs of one queue', async () => {
    const p = prefix('shared');
    const api = apiClient((await start('api', p)).url, token);
    await Promise.all([start('worker', p), start('worker', p)]);
    // Seeded first, then queued at once: while one worker is busy with a job (concurrency 1), the other takes the next.
    const pairs = Array.from(
      { length: 6 },
      (_, i) => [streams.name(`shared.${i}.in`), streams.name(`shared.${i}.out`)] as const,
    );
    for (const [source] of pairs) await streams.seed(source, 2_000);
    const ids = await Promise.all(
      pairs.map(async ([source, sink]) => {
        const res = await api.post('/flows', { source: { stream: source }, sink: { stream: sink }, batchSize: 5 });
        return ((await res.json()) as { id: string }).id;
      }),
    );
    const jobs = await Promise.all(ids.map((id) => api.waitFor(id)));
    for (const job of jobs)
      expect(job, JSON.stringify(job)).toMatchObject({ state: 'completed', result: { records: 2_000 } });
    expect(new Set(jobs.map((j) => j.result.worker)).size).toBe(2);
  });
});

describe('SIGTERM during a flow', () => {
  it('exits 0 within the bound, puts the job back, and another worker finishes it: nothing lost or doubled', async () => {
    const p = prefix('sigterm');
    const server = await start('serve', p, ['--stop-timeout', '10']);
    const api = apiClient(server.url, token);
    const source = streams.name('term.in');
    const sink = streams.name('term.out');
    const total = 30_000;
    await streams.seed(source, total);
    const { id } = (await (
      await api.post('/flows', { source: { stream: source }, sink: { stream: sink }, batchSize: 5 })
    ).json()) as { id: string };
    await api.waitFor(id, (j) => (j.progress?.records ?? 0) > 0);
    const sent = Date.now();
    const exit = await server.stop(15_000);
    expect(exit.code).toBe(0);
    expect(exit.at - sent).toBeLessThan(10_000);
    const moved = await streams.len(sink);
    expect(moved).toBeLessThan(total);
    expect(moved + (await streams.len(source))).toBe(total);

    const next = await start('serve', p);
    const again = apiClient(next.url, token);
    const job = await again.waitFor(id);
    expect(job).toMatchObject({ state: 'completed', result: { records: total, stopReason: 'empty' } });
    expect(await streams.len(source)).toBe(0);
    expect(await distinctSourceIds(sink)).toBe(total);
  });
});
