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
    const api = apiClient(server.url);

    const source = streams.name('lost.in');
    const sink = streams.name('lost.out');
    const total = 20_000;
    await streams.seed(source, total);
    const res = await api.post('/flows', {
      source: { stream: source, mode: 'range' },
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
