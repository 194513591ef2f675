import { parseArgs } from 'node:util';
import { ConfigError, type ConnectorRegistry, describeError } from '@ferry/core';
import { readConfigInput } from '../config-file.js';
import { connectControl, defaultConnectionKind, maskUrl } from '../control/index.js';
import { type JobState, JobStore, jobStates } from '../control/jobs.js';
import { formatNotes, listJournalNotes } from '../control/journal-notes.js';
import { startFlowWorker } from '../control/worker.js';
import { createApi } from '../http/api.js';
import { flowRequest } from '../jobs/job-spec.js';
import { watchJob } from '../jobs/job-watch.js';
import { controlSettings, defaultHost, defaultPort, loadServerConfig, type ServerConfig } from '../server-config.js';
import { checkConnection, formatChecks } from './doctor.js';
import { UsageError } from './run-args.js';

interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const controlFlags = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const serveFlags = {
  ...controlFlags,
  host: { type: 'string' },
  port: { type: 'string' },
  concurrency: { type: 'string' },
  'stop-timeout': { type: 'string' },
  'job-lock': { type: 'string' },
} as const;

export const serveHelp = `usage:
  ferry serve  [--config FILE] [flags]   the HTTP API and a worker in one process
  ferry api    [--config FILE] [flags]   the HTTP API only
  ferry worker [--config FILE] [flags]   a worker only: runs the queued flow jobs

flags:
  -c, --config FILE       connections and flows (YAML or JSON); without one, a "default"
                          ${defaultConnectionKind} connection on the control store
  --redis URL             the control store (default: FERRY_REDIS_URL, the config's control.url,
                          redis://127.0.0.1:6379)
  --prefix NAME           the queue's key prefix (default: FERRY_QUEUE_PREFIX, control.prefix, ferry)
  --host HOST             API address (default ${defaultHost})
  --port N                API port (default ${defaultPort}; 0 picks a free one)
  --concurrency N         jobs a worker runs at once (default 1)
  --stop-timeout SECONDS  on SIGTERM/SIGINT, how long running flows get to stop cleanly (default 20)
  --job-lock SECONDS      how long a running job's lock lasts without renewal, and how often
                          jobs of workers that died are looked for: a job a dead worker held
                          runs again elsewhere within about twice this (default 30)

The API token comes from FERRY_API_TOKEN or the config's api.token; with one, every
route but /health needs "Authorization: Bearer <token>".
`;

export const submitHelp = `usage:
  ferry submit <config-file> <flow-name> [--parallelism N]   queue a flow of the config
  ferry submit [--config FILE] --file FLOW-FILE              queue a flow spec from a file

Validates the flow as the API does and prints the job id. Flags --redis and --prefix as for serve.
`;

export const jobsHelp = `usage:
  ferry jobs [--state waiting|active|completed|failed|cancelled] [--json]   list the jobs of the queue
  ferry jobs --watch [JOB-ID] [--json]   follow a job until it ends (default: the newest active or waiting one)

--watch draws a progress line on a terminal (records, rate, and a bar with an ETA when
the source tells its backlog), and in logs and pipes the job's state changes and a line
every ten seconds at most; the last line on stdout says how the job ended (--json: the
job as JSON). Exit code 0 completed, 1 failed, 130 cancelled (or Ctrl-C: the job goes on).
Flags --config, --redis and --prefix as for serve.
`;

export const cancelHelp = `usage: ferry cancel <job-id>

Cancels a job: a waiting job is removed, a running one stops cleanly (the batch in
hand finished or released). Flags --config, --redis and --prefix as for serve.
`;

export const doctorHelp = `usage: ferry doctor <config-file>

Checks every connection of a config: reachable, server version, credentials;
then lists the batches the journal holds in doubt in the control store, each
said live (a reader runs under its name) or orphaned.
Exit code 0 when all connections answer, 1 otherwise.
`;

function positiveInt(text: string | undefined, flag: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`[ferry] --${flag} expects an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function version(): string {
  return '0.1.0';
}

/** `ferry serve|api|worker`: runs until SIGTERM or SIGINT; resolves to the exit code. */
export async function serveCommand(
  mode: 'serve' | 'api' | 'worker',
  args: string[],
  io: Io,
  connectors: ConnectorRegistry,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: serveFlags, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(serveHelp);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `[ferry] unexpected argument ${JSON.stringify(positionals[0])}: give the config with --config`,
    );
  const port = positiveInt(values.port, 'port', defaultPort, 0);
  const host = values.host ?? defaultHost;
  const concurrency = positiveInt(values.concurrency, 'concurrency', 1);
  const stopTimeoutMs = positiveInt(values['stop-timeout'], 'stop-timeout', 20) * 1000;
  const jobLockMs = positiveInt(values['job-lock'], 'job-lock', 30) * 1000;
  const { server, registry } = await loadServerConfig(values.config, io.env, values.redis, connectors);
  const control = controlSettings(values, io.env, server);
  const redis = await connectControl(control.url);
  const log = (line: string) => io.stderr.write(`${line}\n`);

  const store = new JobStore(redis, control.prefix);
  const app =
    mode === 'worker'
      ? undefined
      : createApi({ store, redis, prefix: control.prefix, server, registry, token: control.token, version: version() });
  const worker =
    mode === 'api'
      ? undefined
      : startFlowWorker({
          redis,
          url: control.url,
          prefix: control.prefix,
          server,
          registry,
          concurrency,
          log,
          lockDurationMs: jobLockMs,
          stalledIntervalMs: jobLockMs,
        });

  let stopping: Promise<number> | undefined;
  const stop = async (signal: string): Promise<number> => {
    log(
      `ferry: ${signal}: stopping${worker === undefined ? '' : `; running flows finish or release their batch (at most ${stopTimeoutMs / 1000} s)`}`,
    );
    await app?.close().catch(() => {});
    const clean = worker === undefined ? true : await worker.close(stopTimeoutMs);
    await store.close().catch(() => {});
    redis.disconnect();
    if (!clean) log('ferry: flows did not stop in time; their batches will be read again');
    log('ferry: stopped');
    return clean ? 0 : 1;
  };
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping !== undefined) return;
      stopping = stop(signal);
      stopping.then(resolve, () => resolve(1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  if (app !== undefined) {
    try {
      const address = await app.listen({ host, port });
      log(
        `ferry: API listening on ${address} (control store ${maskUrl(control.url)}, prefix ${control.prefix}${control.token === undefined ? '' : ', token required'})`,
      );
    } catch (error) {
      await worker?.close(1000);
      redis.disconnect();
      throw new ConfigError(`[ferry] cannot listen on ${host}:${port}: ${describeError(error)}`, { cause: error });
    }
  }
  if (worker !== undefined) {
    await worker.worker.waitUntilReady();
    log(
      `ferry: worker ready (concurrency ${concurrency}, control store ${maskUrl(control.url)}, prefix ${control.prefix})`,
    );
  }
  return done;
}

/** Runs `fn` with the job store of the control store that the flags, the environment or the config name. */
async function withStore<T>(
  values: { config?: string; redis?: string; prefix?: string },
  io: Io,
  connectors: ConnectorRegistry,
  fn: (store: JobStore) => Promise<T>,
  loaded?: ServerConfig,
): Promise<T> {
  const server =
    loaded ??
    (values.config === undefined
      ? undefined
      : (await loadServerConfig(values.config, io.env, values.redis, connectors)).server);
  const control = controlSettings(values, io.env, server);
  const redis = await connectControl(control.url);
  const store = new JobStore(redis, control.prefix);
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => {});
    redis.disconnect();
  }
}

export async function submitCommand(args: string[], io: Io, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...controlFlags, file: { type: 'string', short: 'f' }, parallelism: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(submitHelp);
    return 0;
  }
  let configFile = values.config;
  let body: unknown;
  if (values.file !== undefined) {
    if (positionals.length > 0)
      throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[0])} with --file`);
    body = readConfigInput(values.file, io.env);
  } else {
    const [file, flow, ...rest] = positionals;
    if (file === undefined || flow === undefined)
      throw new UsageError('[ferry] usage: ferry submit <config-file> <flow-name>');
    if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
    configFile = file;
    body = { flow };
  }
  if (values.parallelism !== undefined && body !== null && typeof body === 'object') {
    body = { ...body, parallelism: positiveInt(values.parallelism, 'parallelism', 1) };
  }
  const { server, registry } = await loadServerConfig(configFile, io.env, values.redis, connectors);
  const data = { ...flowRequest(body, server, registry), origin: 'cli' as const };
  const id = await withStore(
    { ...values, config: configFile },
    io,
    registry,
    (store) => store.submit(data),
    configFile === undefined ? undefined : server,
  );
  io.stdout.write(`${id}\n`);
  return 0;
}

export async function jobsCommand(args: string[], io: Io, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...controlFlags,
      state: { type: 'string' },
      json: { type: 'boolean' },
      watch: { type: 'boolean', short: 'w' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(jobsHelp);
    return 0;
  }
  if (values.watch === true) {
    if (values.state !== undefined) throw new UsageError('[ferry] --watch follows one job: give its id, not --state');
    if (positionals.length > 1) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[1])}`);
    return withStore(values, io, connectors, (store) => watchCommand(store, positionals[0], values.json === true, io));
  }
  if (positionals.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[0])}`);
  const state = values.state;
  if (state !== undefined && !(jobStates as readonly string[]).includes(state)) {
    throw new UsageError(`[ferry] --state expects one of ${jobStates.join(', ')}, got ${JSON.stringify(state)}`);
  }
  const jobs = await withStore(values, io, connectors, (store) => store.list(state as JobState | undefined));
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(jobs)}\n`);
    return 0;
  }
  const rows = [['ID', 'NAME', 'STATE', 'RECORDS', 'STOPPED', 'CREATED']];
  for (const job of jobs) {
    const result = job.result as { records?: number; stopReason?: string } | undefined;
    const progress = job.progress as { records?: number } | undefined;
    rows.push([
      job.id,
      job.name,
      job.state,
      String(result?.records ?? progress?.records ?? 0),
      result?.stopReason ?? (job.error === undefined ? '-' : 'error'),
      job.createdAt ?? '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.stdout.write(
    `${rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  );
  return 0;
}

/** `ferry jobs --watch [id]`: the given job, or the newest active (else waiting) one; Ctrl-C stops watching only. */
async function watchCommand(store: JobStore, given: string | undefined, json: boolean, io: Io): Promise<number> {
  let id = given;
  if (id === undefined) {
    const [active] = await store.list('active', 1);
    const [waiting] = active === undefined ? await store.list('waiting', 1) : [];
    id = (active ?? waiting)?.id;
    if (id === undefined) {
      io.stderr.write('error: no active or waiting job to watch; give a job id: ferry jobs --watch <job-id>\n');
      return 1;
    }
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await watchJob((jobId) => store.get(jobId), id, io, { json, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function cancelCommand(args: string[], io: Io, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: controlFlags, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(cancelHelp);
    return 0;
  }
  const [id, ...rest] = positionals;
  if (id === undefined) throw new UsageError('[ferry] missing <job-id>: ferry cancel <job-id>');
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  const state = await withStore(values, io, connectors, (store) => store.cancel(id));
  if (state === undefined) {
    io.stderr.write(`error: no job ${JSON.stringify(id)}\n`);
    return 1;
  }
  io.stdout.write(`${id} ${state === 'active' ? 'cancelling (stops after the batch in hand)' : state}\n`);
  return 0;
}

export async function doctorCommand(args: string[], io: Io, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(doctorHelp);
    return 0;
  }
  const [file, ...rest] = positionals;
  if (file === undefined) throw new UsageError('[ferry] missing <config-file>: ferry doctor <config-file>');
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  const { server, registry } = await loadServerConfig(file, io.env, undefined, connectors);
  const checks = await Promise.all(
    Object.entries(server.config.connections).map(([name, c]) => checkConnection(name, c, registry)),
  );
  io.stdout.write(`${formatChecks(checks)}\n`);
  const control = controlSettings({}, io.env, server);
  try {
    const redis = await connectControl(control.url);
    try {
      io.stdout.write(`${formatNotes(await listJournalNotes(redis, control.prefix))}\n`);
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    io.stdout.write(`journal: not read (${describeError(error)})\n`);
  }
  const failed = checks.filter((c) => c.status === 'failed').length;
  const unchecked = checks.filter((c) => c.status === 'unchecked').length;
  const answered = checks.length - unchecked;
  const notChecked = unchecked === 0 ? '' : ` (${unchecked} not checked: no check for its connector)`;
  io.stdout.write(
    failed === 0
      ? `ok: ${answered} connection${answered === 1 ? '' : 's'} answer${notChecked}\n`
      : `${failed} of ${checks.length} connections failed${notChecked}\n`,
  );
  return failed === 0 ? 0 : 1;
}
