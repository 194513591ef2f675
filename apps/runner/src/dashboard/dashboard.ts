import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { registerEvents } from './dashboard-events.js';
import { registerLogin } from './dashboard-login.js';
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

/**
 * The dashboard: the page under /ui (its token exchange and login form), and
 * /ui/events, a Server-Sent Events stream of the monitor's pictures. Start,
 * cancel and schedule go through the API's own routes.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const { monitor, token } = options;
  const files = readUi(options.uiDir ?? defaultUiDir);

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

  await registerLogin(app, token, page);
  registerEvents(app, monitor);

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
}
