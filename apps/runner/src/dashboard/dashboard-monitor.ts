import { type ConnectorRegistry, describeError } from '@ferry/core';
import type { JobStore, JobView } from '../control/jobs.js';
import { edgeName } from '../jobs/flow-builder.js';
import type { ServerConfig } from '../server-config.js';
import { type ConfigEndpoint, configEndpoints, flowInfos } from './config-endpoints.js';
import type {
  DashboardSnapshot,
  DeadLetterEntry,
  DeadLetterInfo,
  EdgeCell,
  EndpointDepth,
  JobInfo,
} from './dashboard-snapshot.js';
import { createDepthProbe, type DepthProbe } from './depth-probe.js';
import { edgeInfos, systemInfos } from './systems.js';

export interface DashboardMonitorOptions {
  readonly store: Pick<JobStore, 'list' | 'schedules'>;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  readonly version?: string;
  /** How often jobs are looked at and a picture is sent (default 1 s). */
  readonly intervalMs?: number;
  /** How often the depths and dead letters are counted (default 2 s). */
  readonly depthIntervalMs?: number;
  /** Samples kept per chart (default 150: five minutes of depths at 2 s). */
  readonly historyLength?: number;
  /** The newest jobs shown (default 30). */
  readonly jobLimit?: number;
  readonly probe?: DepthProbe;
}

export type SnapshotListener = (snapshot: DashboardSnapshot, json: string) => void;

/**
 * What the dashboard shows, gathered by the API process while at least one
 * page listens: the jobs every second (with their rate, sampled), the depths
 * of what the config names every few seconds (kept as a short history), the
 * dead letters. Nothing is polled while nobody watches.
 */
export interface DashboardMonitor {
  /** Called with each new picture; the latest one at once when there is one. Returns the unsubscribe. */
  subscribe(listener: SnapshotListener): () => void;
  /** A picture taken now. */
  snapshot(): Promise<DashboardSnapshot>;
  close(): Promise<void>;
}

interface Sample {
  readonly t: number;
  readonly records: number;
  readonly active: boolean;
}

interface DepthState {
  depth?: number;
  error?: string;
  history: [number, number][];
  latest?: DeadLetterEntry[];
  latestError?: string;
}

const finalStates = new Set(['completed', 'failed', 'cancelled']);

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function createDashboardMonitor(options: DashboardMonitorOptions): DashboardMonitor {
  const { store, server, registry } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const depthIntervalMs = options.depthIntervalMs ?? 2000;
  const historyLength = options.historyLength ?? 150;
  const jobLimit = options.jobLimit ?? 30;
  const config = server.config;
  const endpoints = configEndpoints(config, registry);
  const flows = flowInfos(config, registry);
  const systems = systemInfos(registry);
  const edges = edgeInfos(registry);
  const probe = options.probe ?? createDepthProbe({ registry });
  const listeners = new Set<SnapshotListener>();
  const samples = new Map<string, Sample[]>();
  const depths = new Map<string, DepthState>(endpoints.map((e) => [e.id, { history: [] }]));
  let jobs: JobView[] = [];
  let schedules: DashboardSnapshot['schedules'] = [];
  let controlError: string | undefined;
  let last: { snapshot: DashboardSnapshot; json: string; body: string; sentAt: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let counting: Promise<void> | undefined;
  let lastCountAt = 0;
  let closed = false;

  const edgeOfJob = (job: JobView): string | undefined => {
    const progress = job.progress as { edge?: unknown } | undefined;
    const result = job.result as { edge?: unknown } | undefined;
    const known = config.flows[job.name];
    return (
      textOf(progress?.edge) ??
      textOf(result?.edge) ??
      (known === undefined ? undefined : edgeName(config, known, registry))
    );
  };

  const recordsOf = (job: JobView): number => {
    const result = job.result as { records?: unknown } | undefined;
    const progress = job.progress as { records?: unknown } | undefined;
    return numberOf(result?.records) ?? numberOf(progress?.records) ?? 0;
  };

  /** Samples the records of running jobs (and the final count of one that just ended), for its rate chart. */
  const sampleJobs = (now: number) => {
    const seen = new Set<string>();
    for (const job of jobs) {
      seen.add(job.id);
      const list = samples.get(job.id) ?? [];
      const previous = list.at(-1);
      const active = job.state === 'active';
      if (!active && previous?.active !== true) continue;
      list.push({ t: now, records: recordsOf(job), active });
      if (list.length > historyLength + 1) list.splice(0, list.length - historyLength - 1);
      samples.set(job.id, list);
    }
    for (const id of samples.keys()) if (!seen.has(id)) samples.delete(id);
  };

  const ratesOf = (id: string): number[] => {
    const list = samples.get(id) ?? [];
    const rates: number[] = [];
    for (let i = 1; i < list.length; i++) {
      const dt = list[i]!.t - list[i - 1]!.t;
      rates.push(dt > 0 ? Math.max(0, ((list[i]!.records - list[i - 1]!.records) * 1000) / dt) : 0);
    }
    return rates;
  };

  const jobInfo = (job: JobView): JobInfo => {
    const progress = (job.progress ?? {}) as Record<string, unknown>;
    const result = (job.result ?? {}) as Record<string, unknown>;
    const edge = edgeOfJob(job);
    const backlog = numberOf(progress.backlog);
    const stopReason = finalStates.has(job.state) ? textOf(result.stopReason) : undefined;
    const lastError = textOf(progress.lastError);
    const waiting = job.state === 'active' ? textOf(progress.waiting) : undefined;
    return {
      id: job.id,
      name: job.name,
      state: job.state,
      ...(edge === undefined ? {} : { edge }),
      ...(job.origin === undefined ? {} : { origin: job.origin }),
      records: recordsOf(job),
      deadLettered: numberOf(result.deadLettered) ?? numberOf(progress.deadLettered) ?? 0,
      rate: numberOf(result.rate) ?? numberOf(progress.rate) ?? 0,
      ...(backlog === undefined || finalStates.has(job.state) ? {} : { backlog }),
      ...(stopReason === undefined ? {} : { stopReason }),
      ...(job.error === undefined ? {} : { error: job.error }),
      ...(lastError === undefined ? {} : { lastError }),
      ...(waiting === undefined ? {} : { waiting }),
      ...(job.createdAt === undefined ? {} : { createdAt: job.createdAt }),
      ...(job.startedAt === undefined ? {} : { startedAt: job.startedAt }),
      ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt }),
      ...(job.scheduler === undefined ? {} : { scheduler: job.scheduler }),
      rates: ratesOf(job.id),
    };
  };

  const edgeCells = (infos: readonly JobInfo[]): EdgeCell[] =>
    edges.map((e) => ({
      ...e,
      flows: flows.filter((f) => f.edge === e.name).map((f) => f.name),
      active: infos.filter((j) => j.state === 'active' && j.edge === e.name).length,
    }));

  const endpointDepth = (e: ConfigEndpoint): EndpointDepth => {
    const state = depths.get(e.id) ?? { history: [] };
    return {
      id: e.id,
      letter: e.letter,
      connection: e.connection,
      what: e.what,
      name: e.name,
      roles: e.roles,
      ...(state.depth === undefined ? {} : { depth: state.depth }),
      ...(state.error === undefined ? {} : { error: state.error }),
      history: state.history,
    };
  };

  const deadLetters = (): DeadLetterInfo[] =>
    endpoints.flatMap((e) =>
      e.roles
        .filter((r) => r.role === 'deadLetter')
        .map((r) => {
          const state = depths.get(e.id) ?? { history: [] };
          const error = state.error ?? state.latestError;
          return {
            flow: r.flow,
            endpoint: e.id,
            ...(state.depth === undefined ? {} : { count: state.depth }),
            ...(error === undefined ? {} : { error }),
            ...(state.latest === undefined ? {} : { latest: state.latest }),
          };
        }),
    );

  const picture = (now: number): DashboardSnapshot => {
    // Newest first, whatever the state: the queue lists them by state.
    const infos = jobs.map(jobInfo).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    return {
      at: new Date(now).toISOString(),
      ...(options.version === undefined ? {} : { version: options.version }),
      systems,
      edges: edgeCells(infos),
      flows,
      jobs: infos,
      endpoints: endpoints.map(endpointDepth),
      deadLetters: deadLetters(),
      schedules,
      ...(controlError === undefined ? {} : { controlError }),
    };
  };

  /** Counts every endpoint side by side; one that fails or hangs shows its error, the others their counts. */
  const countAll = async () => {
    const at = Date.now();
    await Promise.all(
      endpoints.map(async (e) => {
        const state = depths.get(e.id)!;
        if (e.what === 'exchange') return;
        try {
          state.depth = await probe.depth(e);
          delete state.error;
          state.history.push([at, state.depth]);
          if (state.history.length > historyLength) state.history.splice(0, state.history.length - historyLength);
        } catch (error) {
          state.error = describeError(error);
        }
        if (!e.roles.some((r) => r.role === 'deadLetter')) return;
        try {
          const latest = await probe.latest(e, 5);
          if (latest === undefined) delete state.latest;
          else state.latest = latest;
          delete state.latestError;
        } catch (error) {
          state.latestError = describeError(error);
        }
      }),
    );
  };

  const gather = async (now: number) => {
    try {
      [jobs, schedules] = await Promise.all([store.list(undefined, jobLimit), store.schedules()]);
      controlError = undefined;
    } catch (error) {
      controlError = `the control store did not answer: ${describeError(error)}`;
    }
    sampleJobs(now);
  };

  const tick = async () => {
    const now = Date.now();
    if (counting === undefined && now - lastCountAt >= depthIntervalMs) {
      lastCountAt = now;
      counting = countAll().finally(() => {
        counting = undefined;
      });
    }
    await gather(now);
    if (closed) return;
    const snapshot = picture(now);
    const { at: _at, ...rest } = snapshot;
    const body = JSON.stringify(rest);
    // Unchanged pictures are not sent again, but one goes out every few seconds so that the page sees it is live.
    if (last !== undefined && last.body === body && now - last.sentAt < 5 * intervalMs) return;
    const json = JSON.stringify(snapshot);
    last = { snapshot, json, body, sentAt: now };
    for (const listener of listeners) listener(snapshot, json);
  };

  const runTick = () => {
    ticking ??= tick()
      .catch(() => undefined)
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  };

  const start = () => {
    if (timer !== undefined || closed) return;
    void runTick();
    timer = setInterval(runTick, intervalMs);
  };

  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (last !== undefined) listener(last.snapshot, last.json);
      start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    async snapshot() {
      const now = Date.now();
      if (counting === undefined && now - lastCountAt >= depthIntervalMs) {
        lastCountAt = now;
        counting = countAll().finally(() => {
          counting = undefined;
        });
      }
      await counting;
      await gather(now);
      return picture(now);
    },
    async close() {
      closed = true;
      stop();
      listeners.clear();
      await ticking;
      await counting;
      await probe.close();
    },
  };
}
