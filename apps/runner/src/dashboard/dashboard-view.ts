import { type ConnectorRegistry, describeError } from '@ferry/core';
import type { JobStore, JobView } from '../control/jobs.js';
import type { ServerConfig } from '../server-config.js';
import { configEndpoints, flowInfos } from './config-endpoints.js';
import type { DashboardSnapshot, EdgeCell, JobInfo } from './dashboard-snapshot.js';
import { createDepthProbe, type DepthProbe } from './depth-probe.js';
import { createEndpointDepths } from './endpoint-depths.js';
import { createJobInfos } from './job-infos.js';
import { edgeInfos, systemInfos } from './systems.js';

export interface DashboardViewOptions {
  readonly store: Pick<JobStore, 'list' | 'schedules'>;
  readonly server: ServerConfig;
  readonly registry: ConnectorRegistry;
  readonly version?: string;
  /** How often the depths and dead letters are counted. */
  readonly depthIntervalMs: number;
  /** Samples kept per chart. */
  readonly historyLength: number;
  /** The newest jobs shown. */
  readonly jobLimit: number;
  readonly probe?: DepthProbe;
}

/** What the dashboard shows at a moment: the config's systems, edges and flows, the queue's jobs, the depths. */
export interface DashboardView {
  /** Looks at the queue (and starts a count of the depths when one is due); with `counted`, waits for that count. */
  look(now: number, counted?: boolean): Promise<DashboardSnapshot>;
  close(): Promise<void>;
}

export function createDashboardView(options: DashboardViewOptions): DashboardView {
  const { store, server, registry } = options;
  const config = server.config;
  const endpoints = configEndpoints(config, registry);
  const flows = flowInfos(config, registry);
  const systems = systemInfos(registry);
  const edges = edgeInfos(registry);
  const probe = options.probe ?? createDepthProbe({ registry });
  const { historyLength } = options;
  const depths = createEndpointDepths({ endpoints, probe, intervalMs: options.depthIntervalMs, historyLength });
  const jobInfos = createJobInfos(config, registry, historyLength);
  let jobs: JobView[] = [];
  let schedules: DashboardSnapshot['schedules'] = [];
  let controlError: string | undefined;

  const edgeCells = (infos: readonly JobInfo[]): EdgeCell[] =>
    edges.map((e) => ({
      ...e,
      flows: flows.filter((f) => f.edge === e.name).map((f) => f.name),
      active: infos.filter((j) => j.state === 'active' && j.edge === e.name).length,
    }));

  const picture = (now: number): DashboardSnapshot => {
    // Newest first, whatever the state: the queue lists them by state.
    const infos = jobs.map(jobInfos.info).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    return {
      at: new Date(now).toISOString(),
      ...(options.version === undefined ? {} : { version: options.version }),
      systems,
      edges: edgeCells(infos),
      flows,
      jobs: infos,
      endpoints: depths.endpoints(),
      deadLetters: depths.deadLetters(),
      schedules,
      ...(controlError === undefined ? {} : { controlError }),
    };
  };

  const gather = async (now: number) => {
    try {
      [jobs, schedules] = await Promise.all([store.list(undefined, options.jobLimit), store.schedules()]);
      controlError = undefined;
    } catch (error) {
      controlError = `the control store did not answer: ${describeError(error)}`;
    }
    jobInfos.sample(jobs, now);
  };

  return {
    async look(now, counted = false) {
      depths.countIfDue(now);
      if (counted) await depths.counted();
      await gather(now);
      return picture(now);
    },
    async close() {
      await depths.counted();
      await probe.close();
    },
  };
}
