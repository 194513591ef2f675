import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, sessionValue, tokenMatches } from '../http/auth.js';
import type { DashboardMonitor } from './dashboard-monitor.js';

export interface DashboardOptions {
  readonly monitor: DashboardMonitor;
  /** The API token; without one the dashboard is open, as the API is. */
  readonly token?: string;
  /** Where the built page is (default: the runner's dist/ui). */
  readonly uiDir?: string;
}

/** The page's files, built by Vite into the runner's dist/ui: the same path from src/ (tests) and dist/. */
export const defaultUiDir = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Everything the page loads comes from this server: no CDN, no inline script. */
const pagePolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The login page is one HTML document with its own small style and no script. */
const loginPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  /** Vite names built assets by their content's hash: they never change under one name. */
  readonly immutable: boolean;
}

/** The built files, read once: a few tens of kilobytes, served from memory, and nothing outside the folder. */
function readUi(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(dir, path).split(sep).join('/');
        files.set(rel, {
          body: readFileSync(path),
          type: types[extname(name)] ?? 'application/octet-stream',
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  walk(dir);
  return files;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page a browser gets without the token: what to give, and where. */
export function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferry: token needed</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#1e293b;padding:2rem;border-radius:10px;min-width:20rem;box-shadow:0 10px 30px #0006}
h1{margin:0 0 .5rem;font-size:1.3rem}p{color:#94a3b8;margin:.25rem 0 1rem}
input{width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px;border:1px solid #475569;background:#0f172a;color:inherit}
button{margin-top:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#38bdf8;color:#0f172a;font-weight:600;cursor:pointer}
.error{color:#fca5a5}
</style></head>
<body><form method="post" action="/ui/login">
<h1>ferry dashboard</h1>
<p>This server needs its API token (<code>FERRY_API_TOKEN</code> or <code>api.token</code>).</p>
${message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`}
<input type="password" name="token" placeholder="token" autocomplete="current-password" required autofocus>
<button type="submit">Open the dashboard</button>
</form></body></html>
`;
}

/** A 401 for a browser: the login page; for anything else the API's JSON error. */
export function refuseUi(request: FastifyRequest, reply: FastifyReply, message?: string): FastifyReply {
  reply.code(401).header('www-authenticate', 'Bearer realm="ferry"');
  if (!(request.headers.accept ?? '').includes('text/html')) {
    return reply.send({
      error: message ?? 'missing or wrong token: open /ui?token=<token> or send Authorization: Bearer <token>',
    });
  }
  return reply
    .header('content-security-policy', loginPolicy)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(loginPage(message));
}

function sessionCookieHeader(token: string): string {
  return `${sessionCookie}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * The dashboard: the page under /ui (its token exchange and login form), and
 * /ui/events, a Server-Sent Events stream of the monitor's pictures. Start,
 * cancel and schedule go through the API's own routes.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const { monitor, token } = options;
  const files = readUi(options.uiDir ?? defaultUiDir);
  const streams = new Set<FastifyReply['raw']>();

  const page = (reply: FastifyReply) => {
    const index = files.get('index.html');
    if (index === undefined) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('[ferry] the dashboard is not built: run `npm run build` (the runner builds it into dist/ui)');
    }
    return reply
      .header('content-security-policy', pagePolicy)
      .header('cache-control', 'no-cache')
      .type(index.type)
      .send(index.body);
  };

  // `/ui?token=…`: the token becomes the session cookie and leaves the address bar.
  const entry = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = (request.query as { token?: unknown }).token;
    if (typeof given !== 'string') return page(reply);
    if (token !== undefined) {
      if (!tokenMatches(given, token)) return refuseUi(request, reply, 'wrong token');
      reply.header('set-cookie', sessionCookieHeader(token));
    }
    return reply.code(303).header('location', '/ui/').send();
  };
  app.get('/ui', entry);
  app.get('/ui/', entry);

  await app.register(async (scope) => {
    // The login form posts urlencoded: parsed here only, so that no other route accepts a form.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.post('/ui/login', async (request, reply) => {
      const given = (request.body as { token?: unknown } | undefined)?.token;
      if (token === undefined) return reply.code(303).header('location', '/ui/').send();
      if (typeof given !== 'string' || !tokenMatches(given, token)) return refuseUi(request, reply, 'wrong token');
      return reply.code(303).header('set-cookie', sessionCookieHeader(token)).header('location', '/ui/').send();
    });
  });

  app.post('/ui/logout', async (_request, reply) =>
    reply
      .code(303)
      .header('set-cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
      .header('location', '/ui/')
      .send(),
  );

  app.get('/ui/snapshot', async () => monitor.snapshot());

  app.get('/ui/events', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies that buffer (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    streams.add(raw);
    const unsubscribe = monitor.subscribe((_snapshot, json) => {
      raw.write(`event: snapshot\ndata: ${json}\n\n`);
    });
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(raw);
    };
    request.raw.on('close', end);
    raw.on('close', end);
  });

  app.get('/ui/*', async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    const file = files.get(rel);
    if (file === undefined || rel === 'index.html') {
      return rel === 'index.html' ? page(reply) : reply.code(404).send({ error: `no file /ui/${rel}` });
    }
    return reply
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .type(file.type)
      .send(file.body);
  });

  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.end();
    streams.clear();
  });
  app.addHook('onClose', async () => {
    await monitor.close();
  });
}
