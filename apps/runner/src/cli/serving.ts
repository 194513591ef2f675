import { parseArgs } from 'node:util';
import { ConfigError, type ConnectorRegistry, describeError } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { type ControlStore, connectControl, defaultConnectionKind, maskUrl } from '../control/index.js';
import { JobStore } from '../control/jobs.js';
import { type FlowWorker, startFlowWorker } from '../control/worker.js';
import { createApi } from '../http/api.js';
import {
  type ControlSettings,
  controlSettings,
  defaultHost,
  defaultPort,
  loadServerConfig,
  withControl,
} from '../server-config.js';
import { type ApiAccess, apiAccess, checkApiAccess, dashboardLine } from './api-access.js';
import { type CliIo, exitCodes } from './command.js';
import { controlFlags, positiveInt } from './control-flags.js';
import { unmaskedStream } from './masked-io.js';
import { UsageError } from './run-args.js';
import { version } from './version.js';

/** What `ferry serve` runs: the API and a worker; `ferry api` and `ferry worker` one of them. */
export type ServeMode = 'serve' | 'api' | 'worker';

const serveFlags = {
  ...controlFlags,
  host: { type: 'string' },
  port: { type: 'string' },
  concurrency: { type: 'string' },
  'stop-timeout': { type: 'string' },
  'job-lock': { type: 'string' },
  'no-auth': { type: 'boolean' },
} as const;

const serveHelp = `usage:
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
  --no-auth               serve the API without a token (loopback addresses only)

Every route but /health needs "Authorization: Bearer <token>". The token comes from
FERRY_API_TOKEN or the config's api.token; without one, the first API process on the
control store makes one and keeps it there for the others and for restarts, and the
startup line "ferry: dashboard at http://…/ui?token=…" shows it.
`;

/** A serving process: its control store, and the API and the worker its mode runs. */
interface Serving {
  readonly redis: ControlStore;
  readonly store: JobStore;
  readonly control: ControlSettings;
  readonly app?: FastifyInstance;
  readonly access?: ApiAccess;
  readonly worker?: FlowWorker;
  readonly log: (line: string) => void;
  /** The one line meant to show a secret: the dashboard URL with a made token, for its operator. */
  readonly show: (line: string) => void;
}

/** On the first SIGTERM or SIGINT: the API closed, the running flows stopped within the bound; resolves to the exit code. */
function stopOnSignal(serving: Serving, stopTimeoutMs: number): Promise<number> {
  const { app, worker, store, redis, log } = serving;
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
    return clean ? exitCodes.ok : exitCodes.failed;
  };
  let stopping: Promise<number> | undefined;
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping !== undefined) return;
      stopping = stop(signal);
      stopping.then(resolve, () => resolve(exitCodes.failed));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The API listening and the worker ready, each said in the log; an address that cannot be had is a config error. */
async function announce(serving: Serving, host: string, port: number, concurrency: number): Promise<void> {
  const { app, access, worker, control, redis, log, show } = serving;
  if (app !== undefined && access !== undefined) {
    try {
      const address = await app.listen({ host, port });
      const open = access.s2sWithoutToken ? '; POST /s2s/ from this machine without one' : '';
      log(
        `ferry: API listening on ${address} (control store ${maskUrl(control.url)}, prefix ${control.prefix}, ${access.token === undefined ? 'no token' : 'token required'}${open})`,
      );
      show(dashboardLine(address, access));
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
}

/** `ferry serve|api|worker`: runs until SIGTERM or SIGINT; resolves to the exit code. */
export async function serve(mode: ServeMode, args: string[], io: CliIo, connectors: ConnectorRegistry) {
  const { values, positionals } = parseArgs({ args, options: serveFlags, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(serveHelp);
    return exitCodes.ok;
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
  const loaded = await loadServerConfig(values.config, io.env, values.redis, connectors);
  const { registry } = loaded;
  const control = controlSettings(values, io.env, loaded.server);
  const server = withControl(loaded.server, control);
  const noAuth = values['no-auth'] === true;
  if (mode === 'worker' && noAuth)
    throw new UsageError('[ferry] --no-auth is for ferry serve and ferry api: a worker serves no API');
  if (mode !== 'worker') checkApiAccess(host, noAuth, control, server);
  const redis = await connectControl(control.url, {}, control.tls);
  const log = (line: string) => io.stderr.write(`${line}\n`);
  const show = (line: string) => unmaskedStream(io.stderr).write(`${line}\n`);
  const { prefix, url } = control;

  const store = new JobStore(redis, prefix);
  const access = mode === 'worker' ? undefined : await apiAccess(redis, control, server, noAuth);
  const app =
    access === undefined
      ? undefined
      : createApi({
          store,
          redis,
          prefix,
          server,
          registry,
          token: access.token,
          s2sWithoutToken: access.s2sWithoutToken,
          version: version(),
        });
  const worker =
    mode === 'api'
      ? undefined
      : startFlowWorker({
          redis,
          url,
          tls: control.tls,
          prefix,
          server,
          registry,
          concurrency,
          log,
          lockDurationMs: jobLockMs,
          stalledIntervalMs: jobLockMs,
        });
  const serving: Serving = { redis, store, control, app, access, worker, log, show };
  const done = stopOnSignal(serving, stopTimeoutMs);
  await announce(serving, host, port, concurrency);
  return done;
}
