import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];
const processes: FerryProcess[] = [];
// No token from the environment the tests run in: each server here is given none.
const noToken = { FERRY_API_TOKEN: '' };

const config = (...api: string[]) =>
  configFile(['connections:', `  default: { kind: redis-stream, url: "${redisUrl}" }`, ...api].join('\n'));
const plain = config();

function prefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

async function start(mode: 'serve' | 'api', args: string[], file = plain): Promise<FerryProcess> {
  const proc = await startFerry(mode, ['--config', file, ...args], noToken);
  processes.push(proc);
  return proc;
}

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  for (const p of prefixes) await dropPrefix(p);
  await streams.cleanup();
  await redis.quit();
});

const s2sDict = (source: string, target: string) => ({
  source_stream: source,
  target_stream: target,
  source_read_batch_num: 10,
  target_write_batch_num: 10,
  target_q_max_len: 100000,
  max_exec_cnt: 100,
  source_connection_hash: null,
  target_connection_hash: null,
});

describe('ferry serve and ferry api without a configured token', () => {
  it('make one at the first start, kept in the control store: a second ferry api and a restart use it, the printed URL opens the dashboard', async () => {
    const p = prefix('token');
    const first = await start('api', ['--prefix', p]);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const token = first.token!;
    expect(first.stderr()).toContain(`ferry: dashboard at ${first.url}/ui?token=${token}`);
    // The startup line is the one place it is shown.
    expect(first.stderr().split(token)).toHaveLength(2);
    expect(await redis.get(`${p}:ferry-flows:ferry:api-token`)).toBe(token);

    const second = await start('api', ['--prefix', p]);
    expect(second.token).toBe(token);
    await first.stop();
    const restarted = await start('serve', ['--prefix', p]);
    expect(restarted.token).toBe(token);

    for (const server of [second, restarted]) {
      expect((await apiClient(server.url).get('/jobs')).status).toBe(401);
      expect((await apiClient(server.url, 'wrong').get('/jobs')).status).toBe(401);
      expect((await apiClient(server.url, token).get('/jobs')).status).toBe(200);
      expect((await apiClient(server.url).get('/health')).status).toBe(200);
    }
    // The printed URL: the token becomes the session cookie, which opens the page.
    const entry = await fetch(`${restarted.url}/ui?token=${token}`, { redirect: 'manual' });
    expect(entry.status).toBe(303);
    const cookie = entry.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${restarted.url}/ui/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const anonymous = await fetch(`${restarted.url}/ui/`, { headers: { accept: 'text/html' } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain('token needed');
  });

  it('--no-auth serves without a token on loopback, and is refused with exit 2 on 0.0.0.0', async () => {
    const open = await start('api', ['--prefix', prefix('noauth'), '--no-auth']);
    expect(open.token).toBeUndefined();
    expect(open.stderr()).toContain('no token');
    expect((await apiClient(open.url).get('/jobs')).status).toBe(200);

    const p = prefix('noauth-wide');
    const wide = await ferry(
      ['serve', '--config', plain, '--prefix', p, '--no-auth', '--host', '0.0.0.0', '--port', '0'],
      {
        env: noToken,
      },
    );
    expect(wide.code).toBe(2);
    expect(wide.stderr).toContain('[ferry] --no-auth is refused on --host 0.0.0.0');
    expect(wide.stderr).not.toContain('listening');
    expect(await redis.exists(`${p}:ferry-flows:ferry:api-token`)).toBe(0);
  });
});

describe('api.s2sWithoutToken', () => {
  it('opens POST /s2s/ alone to the original callers on loopback; every other route keeps the token', async () => {
    const server = await start('serve', ['--prefix', prefix('s2s')], config('api: { s2sWithoutToken: true }'));
    const source = streams.name('s2s.in');
    const target = streams.name('s2s.out');
    await streams.seed(source, 25);
    const anonymous = apiClient(server.url);
    const queued = await anonymous.post('/s2s/', s2sDict(source, target));
    expect(queued.status).toBe(200);
    const id = await queued.text();
    const job = await apiClient(server.url, server.token).waitFor(id);
    expect(job.state).toBe('completed');
    expect(await streams.len(target)).toBe(25);
    expect(await streams.len(source)).toBe(0);

    expect((await anonymous.get(`/jobs/${id}`)).status).toBe(401);
    expect((await anonymous.post('/flows', { source: { stream: source }, sink: { stream: target } })).status).toBe(401);
    expect((await anonymous.get('/jobs')).status).toBe(401);
  });

  it('is refused with exit 2 when the API binds beyond loopback', async () => {
    const file = config('api: { s2sWithoutToken: true }');
    const args = ['serve', '--config', file, '--prefix', prefix('s2s-wide'), '--host', '0.0.0.0', '--port', '0'];
    const run = await ferry(args, { env: noToken });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[ferry] api.s2sWithoutToken is refused on --host 0.0.0.0');
    expect(run.stderr).not.toContain('listening');
  });
});

describe('what the API takes from a caller with the token', () => {
  it('refuses ids ferry does not give before BullMQ is asked: its meta hash stays whole, no phantom job, no 500', async () => {
    const p = prefix('ids');
    const server = await start('serve', ['--prefix', p]);
    const api = apiClient(server.url, server.token);
    const source = streams.name('ids.in');
    await streams.seed(source, 3);
    const id = await (await api.post('/s2s/', s2sDict(source, streams.name('ids.out')))).text();
    await api.waitFor(id);
    const meta = `${p}:ferry-flows:meta`;
    const before = await redis.hgetall(meta);
    expect(before.version).toBeTypeOf('string');

    const cancel = await api.post('/jobs/meta/cancel', {});
    expect(cancel.status).toBe(400);
    expect(((await cancel.json()) as { error: string }).error).toContain(
      '[ferry] invalid path:\n  - id: expected a job id as ferry gives them',
    );
    for (const path of ['/jobs/meta', '/jobs/events', '/jobs/repeat', '/jobs/ferry:cancelled']) {
      expect((await api.get(path)).status, path).toBe(400);
    }
    expect((await api.get('/jobs/1b4e28ba-2fa1-41d2-883f-0016d3cca427')).status).toBe(404);
    expect(await redis.hgetall(meta)).toEqual(before);
    const jobs = (await (await api.get('/jobs')).json()) as { jobs: { id: string }[] };
    expect(jobs.jobs.map((j) => j.id)).toEqual([id]);
  });

  it('refuses a schedule under the minimum interval and schedules nothing', async () => {
    const p = prefix('every');
    const server = await start('serve', ['--prefix', p]);
    const api = apiClient(server.url, server.token);
    const res = await api.post('/schedules', {
      id: 'fast',
      every: 0.001,
      flow: { source: { stream: 'a' }, sink: { stream: 'b' } },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(
      '[ferry] invalid schedule:\n  - every: at least 1 s between runs (api.minScheduleSeconds), got 0.001',
    );
    const strict = await start('api', ['--prefix', p], config('api: { minScheduleSeconds: 3600 }'));
    const hourly = await apiClient(strict.url, strict.token).post('/schedules', { id: 'often', every: 60, flow: 'x' });
    expect(hourly.status).toBe(400);
    expect(((await hourly.json()) as { error: string }).error).toContain('every: at least 3600 s between runs');
    await new Promise((r) => setTimeout(r, 500));
    expect(((await (await api.get('/schedules')).json()) as { schedules: unknown[] }).schedules).toEqual([]);
    expect(((await (await api.get('/jobs')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it('refuses a query parameter given twice: /ui?token=a&token=b is a 400, not the dashboard', async () => {
    const server = await start('api', ['--prefix', prefix('query')]);
    const html = { accept: 'text/html' };
    for (const query of ['token=a&token=b', `token=${server.token}&token=${server.token}`]) {
      const res = await fetch(`${server.url}/ui?${query}`, { headers: html, redirect: 'manual' });
      expect(res.status, query).toBe(400);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toBe(
        JSON.stringify({
          error: '[ferry] invalid query:\n  - token: given more than once; give each query parameter once',
        }),
      );
    }
    const list = await apiClient(server.url, server.token).get('/jobs?limit=1&limit=2');
    expect(list.status).toBe(400);
  });
});
