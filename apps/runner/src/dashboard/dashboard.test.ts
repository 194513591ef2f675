import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import type { JobStore } from '../control/jobs.js';
import { createApi } from '../http/api.js';
import { sessionValue } from '../http/auth.js';
import { parseServerConfig } from '../server-config.js';

const server = parseServerConfig({
  connections: { default: { kind: 'redis-stream', url: 'redis://user:hunter2@127.0.0.1:1' } },
  flows: { demo: { source: { stream: 'in' }, sink: { stream: 'out' } } },
});

/** A built page of two files, as Vite leaves it in dist/ui. */
function builtUi(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/ui/assets/app-1.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("ferry")');
  return dir;
}

const submitted: unknown[] = [];
const store = {
  submit: async (data: unknown) => {
    submitted.push(data);
    return `job-${submitted.length}`;
  },
  list: async () => [],
  schedules: async () => [],
} as unknown as JobStore;
const redis = { ping: async () => 'PONG' } as unknown as Redis;
const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  submitted.length = 0;
});

function api(token?: string, uiDir = builtUi()) {
  const app = createApi({
    store,
    redis,
    prefix: 't',
    server,
    registry: createRegistry(),
    token,
    version: '9.9.9',
    dashboard: { uiDir, intervalMs: 20, depthIntervalMs: 60_000 },
  });
  apps.push(app);
  return app;
}

const html = { accept: 'text/html' };

describe('the dashboard routes', () => {
  it('serves the built page and its assets, with a policy that loads nothing from elsewhere', async () => {
    const app = api();
    const page = await app.inject({ method: 'GET', url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('/ui/assets/app-1.js');
    const asset = await app.inject({ method: 'GET', url: '/ui/assets/app-1.js' });
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ method: 'GET', url: '/ui/assets/../../package.json' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/ui/nope.js' })).statusCode).toBe(404);
  });

  it('says how to build the page when it is not built', async () => {
    const app = api(undefined, join(tmpdir(), 'ferry-no-such-ui'));
    const res = await app.inject({ method: 'GET', url: '/ui/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/npm run build/);
  });

  it('trades the token for an HttpOnly cookie that opens the page and the API, and refuses a wrong one', async () => {
    const app = api('s3cret');
    const refused = await app.inject({ method: 'GET', url: '/ui/', headers: html });
    expect(refused.statusCode).toBe(401);
    expect(refused.body).toContain('<form method="post" action="/ui/login">');
    expect((await app.inject({ method: 'GET', url: '/ui/snapshot' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/ui/events' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/ui?token=wrong', headers: html })).statusCode).toBe(401);

    const entry = await app.inject({ method: 'GET', url: '/ui?token=s3cret' });
    expect(entry.statusCode).toBe(303);
    expect(entry.headers.location).toBe('/ui/');
    const cookie = String(entry.headers['set-cookie']);
    expect(cookie).toMatch(/^ferry_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain('s3cret');
    const session = cookie.split(';')[0]!;
    expect((await app.inject({ method: 'GET', url: '/ui/', headers: { cookie: session } })).statusCode).toBe(200);
    const edges = await app.inject({ method: 'GET', url: '/edges', headers: { cookie: session } });
    expect(edges.statusCode).toBe(200);
    // A cookie with a wrong token in the address keeps nothing of it.
    const wrong = await app.inject({ method: 'GET', url: '/ui?token=nope', headers: { cookie: session, ...html } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('takes the token from the login form too', async () => {
    const app = api('s3cret');
    const form = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/ui/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...html },
        payload: `token=${encodeURIComponent(token)}`,
      });
    const wrong = await form('guess');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('wrong token');
    const ok = await form('s3cret');
    expect(ok.statusCode).toBe(303);
    expect(String(ok.headers['set-cookie'])).toContain(`ferry_session=${sessionValue('s3cret')}`);
    // A field given twice is refused, whichever of the two is right.
    const twice = await app.inject({
      method: 'POST',
      url: '/ui/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...html },
      payload: 'token=s3cret&token=guess',
    });
    expect(twice.statusCode).toBe(400);
    expect(twice.headers['set-cookie']).toBeUndefined();
    expect(twice.json().error).toBe('[ferry] invalid form:\n  - token: given more than once');
    // Only the login route reads forms.
    const formFlow = await app.inject({
      method: 'POST',
      url: '/flows',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer s3cret' },
      payload: 'flow=demo',
    });
    expect(formFlow.statusCode).toBe(415);
  });

  it('lets the cookie change things only from the page: the X-Ferry-UI header', async () => {
    const app = api('s3cret');
    const cookie = `ferry_session=${sessionValue('s3cret')}`;
    const start = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/flows',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        payload: { flow: 'demo' },
      });
    const forged = await start({});
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error).toMatch(/x-ferry-ui/);
    expect(submitted).toEqual([]);
    const fromPage = await start({ 'x-ferry-ui': '1' });
    expect(fromPage.statusCode).toBe(202);
    expect(fromPage.json()).toEqual({ id: 'job-1' });
  });

  it('streams pictures as Server-Sent Events, and closes the stream when the server closes', async () => {
    const app = api();
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}/ui/events`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let event: RegExpExecArray | null = null;
    while (event === null) {
      text += decoder.decode((await reader.read()).value, { stream: true });
      event = /event: snapshot\ndata: (.*)\n\n/.exec(text);
    }
    const snapshot = JSON.parse(event[1]!) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ version: '9.9.9', flows: [{ name: 'demo', edge: 'S2S' }] });
    expect(JSON.stringify(snapshot)).not.toContain('hunter2');
    await app.close();
    for (;;) if ((await reader.read()).done) break;
  });
});
