import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedStream } from '@ferry/redis-stream/bench';
import { Redis } from 'ioredis';
import type { BenchCase, BenchContext, Timed } from './bench-case.js';

const cli = fileURLToPath(new URL('../../apps/runner/dist/cli/cli.js', import.meta.url));

/** What the original Flask + Celery worker moved here with batch 1000, for the ≥ 3× target. */
export const originalRate = 35_000;

/** The API's token, set in the config the bench writes. */
const token = `bench-${randomBytes(16).toString('hex')}`;
const auth = { authorization: `Bearer ${token}` };

function configFile(ctx: BenchContext, from: string, to: string, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-api-'));
  const path = join(dir, 'ferry.yaml');
  writeFileSync(
    path,
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${ctx.redisUrl}" }`,
      `control: { url: "${ctx.redisUrl}", prefix: ${prefix} }`,
      `api: { token: ${token} }`,
      'flows:',
      '  s2s:',
      `    source: { stream: ${from}, mode: range }`,
      `    sink: { stream: ${to}, maxLen: ${ctx.records * 2} }`,
      `    batchSize: ${ctx.batchSize}`,
    ].join('\n'),
  );
  return path;
}

/** Starts `ferry serve` and resolves with its base URL once it listens and its worker takes jobs. */
function serve(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', config, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`ferry serve did not start:\n${stderr}`)), 20_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const url = /API listening on (\S+)/.exec(stderr)?.[1];
      if (url !== undefined && /worker ready/.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    });
    child.on('error', reject);
  });
}

function run(config: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'run', config, 's2s'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(code) : reject(new Error(`ferry run exited ${code}`))));
  });
}

/** A live process's peak RSS in KiB (Linux's VmHWM); undefined where /proc does not tell. */
async function peakRssKb(pid: number | undefined): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb);
}

/** Submits the flow through the API and polls its job until it completes. */
async function throughApi(url: string): Promise<number> {
  const submitted = await fetch(`${url}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ flow: 's2s' }),
  });
  if (submitted.status !== 202) throw new Error(`POST /flows answered ${submitted.status}: ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const job = (await (await fetch(`${url}/jobs/${id}`, { headers: auth })).json()) as {
      state: string;
      result?: { records: number };
      error?: string;
    };
    if (job.state === 'completed') return job.result?.records ?? 0;
    if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`job ${id} ${job.state}: ${job.error}`);
  }
}

/**
 * The same S2S flow through the HTTP API (a job on a `ferry serve` worker,
 * submitted and polled) and through `ferry run`, wall time from the request
 * (or the spawn) to the end: what the job machinery costs on top of the flow.
 */
export const api: BenchCase = {
  edge: 'S2S via API',
  kinds: ['redis-stream'],
  defaultRecords: 100_000,
  async prepare(ctx) {
    const redis = new Redis(ctx.redisUrl);
    const name = (role: string) => `ferry.bench.api.${process.pid}.${ctx.round}.${role}`;
    const prefix = `ferry-bench-${process.pid}-${ctx.round}`;
    const from = name('in');
    const to = name('out');
    const config = configFile(ctx, from, to, prefix);
    const server = await serve(config);
    const timed = async (move: () => Promise<number>): Promise<Timed> => {
      await redis.del(from, to);
      await seedStream(redis, from, ctx.records);
      const started = performance.now();
      await move();
      const seconds = (performance.now() - started) / 1000;
      const [left, arrived] = await Promise.all([redis.xlen(from), redis.xlen(to)]);
      if (left !== 0 || arrived !== ctx.records) {
        throw new Error(`S2S via API moved ${arrived} of ${ctx.records}: ${left} left`);
      }
      return { records: arrived, seconds };
    };
    return {
      pump: () => timed(() => throughApi(server.url)),
      loop: () => timed(() => run(config)),
      // The worker that ran the jobs, not the bench process that submitted them.
      workerPeakRssKb: () => peakRssKb(server.child.pid),
      async close() {
        server.child.kill('SIGTERM');
        await new Promise((resolve) => server.child.once('close', resolve));
        await redis.del(from, to);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      },
    };
  },
};
