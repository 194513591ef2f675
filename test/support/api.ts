import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { cliPath, redisUrl, repoRoot } from './cli.js';

/** A queue prefix of its own for each test run, so that runs never see each other's jobs. */
export function uniquePrefix(label: string): string {
  return `ferry-test-${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Deletes every key of a queue prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export interface FerryProcess {
  readonly child: ChildProcess;
  /** The API's base URL (for `serve` and `api`). */
  readonly url: string;
  /** The API's token, as the startup line shows it when the control store made it (undefined otherwise). */
  readonly token?: string;
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGTERM, then SIGKILL after `ms`. */
  stop(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Starts `ferry serve|api|worker` from the built CLI on a free port and waits
 * until it says it is ready (listening with its dashboard line, and for a
 * worker, taking jobs).
 */
export function startFerry(
  mode: 'serve' | 'api' | 'worker',
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<FerryProcess> {
  const child = spawn(process.execPath, [cliPath, mode, '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const stop = (ms = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    return exited.finally(() => clearTimeout(timer));
  };
  return new Promise((resolve, reject) => {
    let url = '';
    let token: string | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferry ${mode} did not start in 15 s:\n${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8').on('data', () => {});
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const dashboard = /^ferry: dashboard at (\S+)\/ui(?:\?token=(\S+))?/m.exec(stderr);
      if (dashboard !== null && url === '') [url, token] = [dashboard[1]!, dashboard[2]];
      const ready =
        mode === 'worker'
          ? /worker ready/.test(stderr)
          : mode === 'api'
            ? url !== ''
            : url !== '' && /worker ready/.test(stderr);
      if (ready) {
        clearTimeout(timer);
        resolve({ child, url, ...(token === undefined ? {} : { token }), stderr: () => stderr, exited, stop });
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`ferry ${mode} exited with ${code} before it was ready:\n${stderr}`));
    });
  });
}

/** A job as `GET /jobs/:id` answers it. */
export interface JobJson {
  readonly id: string;
  readonly state: string;
  readonly progress?: { records?: number };
  readonly result: { records: number; batches: number; stopReason: string; worker: string; instances: number };
  readonly error?: string;
  readonly attempts: number;
}

/** A small HTTP client for the API, with the bearer token when one is given. */
export function apiClient(base: string, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...extra,
  });
  const client = {
    async post(path: string, body: unknown, raw = false): Promise<Response> {
      return fetch(`${base}${path}`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json' }),
        body: raw ? (body as string) : JSON.stringify(body),
      });
    },
    async get(path: string): Promise<Response> {
      return fetch(`${base}${path}`, { headers: headers() });
    },
    async job(id: string): Promise<JobJson> {
      const res = await client.get(`/jobs/${id}`);
      if (res.status !== 200) throw new Error(`GET /jobs/${id}: ${res.status} ${await res.text()}`);
      return (await res.json()) as JobJson;
    },
    /** Polls a job until `done` says so (default: a final state). */
    async waitFor(
      id: string,
      done: (job: JobJson) => boolean = (j) => ['completed', 'failed', 'cancelled'].includes(j.state),
      timeoutMs = 30_000,
    ): Promise<JobJson> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await client.job(id);
        if (done(job)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}: ${JSON.stringify(job)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  return client;
}
