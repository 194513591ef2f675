import type { ConnectorRegistry, FerryConfig } from '@ferry/core';
import type { JobView } from '../control/jobs.js';
import { edgeName } from '../jobs/flow-builder.js';
import type { JobInfo } from './dashboard-snapshot.js';

interface Sample {
  readonly t: number;
  readonly records: number;
  readonly active: boolean;
}

const finalStates = new Set(['completed', 'failed', 'cancelled']);

export function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The jobs as the dashboard shows them, each with a rate chart from the records sampled at each look. */
export interface JobInfos {
  /** Samples the records of running jobs (and the final count of one that just ended); forgets the jobs gone. */
  sample(jobs: readonly JobView[], now: number): void;
  info(job: JobView): JobInfo;
}

export function createJobInfos(config: FerryConfig, registry: ConnectorRegistry, historyLength: number): JobInfos {
  const samples = new Map<string, Sample[]>();

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

  const ratesOf = (id: string): number[] => {
    const list = samples.get(id) ?? [];
    const rates: number[] = [];
    for (let i = 1; i < list.length; i++) {
      const dt = list[i]!.t - list[i - 1]!.t;
      rates.push(dt > 0 ? Math.max(0, ((list[i]!.records - list[i - 1]!.records) * 1000) / dt) : 0);
    }
    return rates;
  };

  const sample = (jobs: readonly JobView[], now: number) => {
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

  const info = (job: JobView): JobInfo => {
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

  return { sample, info };
}
