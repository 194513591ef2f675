import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { TestRedisServer } from './support/api-redis.js';
import { configFile, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
const processes: FerryProcess[] = [];
const servers: TestRedisServer[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  await Promise.all(servers.map((s) => s.dispose()));
  for (const p of prefixes) await dropPrefix(p);
  await streams.cleanup();
});

async function redisServer(): Promise<TestRedisServer> {
  const server = await TestRedisServer.create();
  servers.push(server);
  return server;
}

async function start(mode: 'serve' | 'api' | 'worker', args: string[]): Promise<FerryProcess> {
  const proc = await startFerry(mode, args);
  processes.push(proc);
  return proc;
}

/** Every `_source_id` of a sink, checked for doubles; resolves to how many there are. */
async function distinctSourceIds(sink: string): Promise<number> {
  const ids = (await streams.entries(sink)).map((e) => e._source_id!);
  expect(new Set(ids).size).toBe(ids.length);
  return ids.length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the control store lost mid-run', () => {
  it('reconnects after a SIGKILL and a restart; the job completes with every message moved once', async () => {
    const control = await redisServer();
    await control.start();
    const prefix = uniquePrefix('lost');
    const config = configFile(['connections:', `  default: { kind: redis-stream, url: "${redisUrl}" }`].join('\n'));
    const server = await start('serve', ['--config', config, '--redis', control.url, '--prefix', prefix]);
    const api = apiClient(server.url, server.token);

    const source = streams.name('lost.in');
    const sink = streams.name('lost.out');
    const total = 20_000;
    await streams.seed(source, total);
    // direct: false: the read, write, ack path and its journal (the same-server move needs no journal, and goes on).
    const res = await api.post('/flows', {
      source: { stream: source, mode: 'range', direct: false },
      sink: { stream: sink },
      batchSize: 10,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await api.waitFor(id, (j) => (j.progress?.records ?? 0) >= 2_000);

    await control.kill('SIGKILL');
    const movedWhileDown = await streams.len(sink);
    await sleep(1500);
    // Nothing moves while the control store (and so the batch journal) is away.
    expect(await streams.len(sink)).toBeLessThanOrEqual(movedWhileDown + 10);
    expect(movedWhileDown).toBeLessThan(total);
    await control.start();

    const job = await api.waitFor(id, undefined, 60_000);
    expect(job, `${JSON.stringify(job)}\n${server.stderr()}`).toMatchObject({
      state: 'completed',
      result: { stopReason: 'empty' },
    });
    expect(await streams.len(source)).toBe(0);
    expect(await distinctSourceIds(sink)).toBe(total);
    expect(server.stderr()).toMatch(/ECONNREFUSED/);
  });
});

describe('retries', () => {
  it('retries a job whose sink is down with backoff until it answers; fails a config error at once', async () => {
    const sinkServer = await redisServer(); // a port of its own, not started yet
    const prefix = uniquePrefix('retry');
    prefixes.push(prefix);
    const connections = [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  sinkdb: { kind: redis-stream, url: "${sinkServer.url}" }`,
    ];
    // The API knows a connection this worker's config lacks: a job naming it cannot be built there.
    const apiConfig = configFile([...connections, `  extra: { kind: redis-stream, url: "${redisUrl}" }`].join('\n'));
    const workerConfig = configFile(connections.join('\n'));
    const apiProcess = await start('api', ['--config', apiConfig, '--prefix', prefix]);
    const api = apiClient(apiProcess.url, apiProcess.token);
    const worker = await start('worker', ['--config', workerConfig, '--prefix', prefix, '--concurrency', '2']);

    const source = streams.name('retry.in');
    const sink = streams.name('retry.out');
    const total = 1_000;
    await streams.seed(source, total);
    // The pump's own retries kept short, so that BullMQ's are what the test sees.
    const retry = { retries: 1, initialDelayMs: 50, maxDelayMs: 100 };
    const post = async (body: unknown) => {
      const res = await api.post('/flows', body);
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const id = await post({
      source: { stream: source },
      sink: { connection: 'sinkdb', stream: sink },
      batchSize: 100,
      retry,
    });
    const badId = await post({ source: { stream: source }, sink: { connection: 'extra', stream: sink }, retry });

    const bad = await api.waitFor(badId);
    expect(bad.state).toBe('failed');
    expect(bad.error).toMatch(/no connection named "extra"/);
    expect(bad.attempts).toBe(1);

    // Two attempts fail (1 s of backoff between them), and the job waits for its third.
    const changes: { attempts: number; at: number }[] = [];
    const waiting = await api.waitFor(
      id,
      (j) => {
        if (changes.at(-1)?.attempts !== j.attempts) changes.push({ attempts: j.attempts, at: Date.now() });
        return j.attempts >= 2 || j.state === 'failed';
      },
      15_000,
    );
    const at = (n: number) => changes.find((c) => c.attempts === n)?.at ?? Number.NaN;
    expect(at(2) - at(1)).toBeGreaterThanOrEqual(900);
    expect(waiting.state).toBe('waiting');
    expect(waiting.error).toMatch(new RegExp(`${sinkServer.port}`));
    expect(await streams.len(source)).toBe(total);
    await sinkServer.start();

    const job = await api.waitFor(id, undefined, 20_000);
    expect(job, `${JSON.stringify(job)}\n${worker.stderr()}`).toMatchObject({
      state: 'completed',
      result: { records: total, stopReason: 'empty' },
    });
    expect(job.attempts).toBeGreaterThanOrEqual(3);
    expect(worker.stderr()).toMatch(/transient, will retry/);
    expect(await streams.len(source)).toBe(0);
    const landed = new Redis(sinkServer.url);
    try {
      expect(await landed.xlen(sink)).toBe(total);
    } finally {
      landed.disconnect();
    }
  });
});

describe('a worker killed with SIGKILL while it runs a group-mode job', () => {
  it("the worker that takes the job over finishes the dead worker's pending batch before it says completed", async () => {
    const prefix = uniquePrefix('takeover');
    prefixes.push(prefix);
    const config = configFile(['connections:', `  default: { kind: redis-stream, url: "${redisUrl}" }`].join('\n'));
    // Short job locks, so that the dead worker's job is found stalled in seconds, not a minute.
    const flags = ['--config', config, '--prefix', prefix, '--job-lock', '2'];
    const apiProcess = await start('api', ['--config', config, '--prefix', prefix]);
    const api = apiClient(apiProcess.url, apiProcess.token);
    const first = await start('worker', flags);

    const source = streams.name('takeover.in');
    const sink = streams.name('takeover.out');
    const total = 30_000;
    await streams.seed(source, total);
    const res = await api.post('/flows', {
      source: { stream: source, mode: 'group' },
      sink: { stream: sink },
      batchSize: 50,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await api.waitFor(id, (j) => (j.progress?.records ?? 0) >= 2_000);

    // Killed while its consumer holds entries it read and did not ack.
    const pending = async () => ((await streams.redis.xpending(source, 'ferry')) as [number])[0];
    await expect.poll(pending, { interval: 1, timeout: 10_000 }).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await pending()).toBeGreaterThan(0);
    expect(await streams.len(sink)).toBeLessThan(total);

    const second = await start('worker', flags);
    const job = await api.waitFor(id, undefined, 60_000);
    expect(job, `${JSON.stringify(job)}\n${second.stderr()}`).toMatchObject({
      state: 'completed',
      result: { stopReason: 'empty' },
    });
    expect(await pending()).toBe(0);
    expect(await streams.len(source)).toBe(0);
    expect(await distinctSourceIds(sink)).toBe(total);
  }, 90_000);
});
