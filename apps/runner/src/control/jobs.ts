import { randomUUID } from 'node:crypto';
import { getNextMillis, type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FlowJobData } from '../jobs/job-spec.js';
import { controlKeys, queueName } from './index.js';
import { isJobId, scheduleIdPattern } from './job-ids.js';

/** The states a job is reported in; BullMQ's delayed and prioritized jobs are `waiting`. */
export const jobStates = ['waiting', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];

export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  readonly origin?: string;
  readonly progress?: unknown;
  readonly result?: unknown;
  readonly error?: string;
  readonly attempts: number;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly scheduler?: string;
}

/** Job options every flow job gets: retries with backoff, bounded history. */
export const defaultJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
};

/** How long the mark of a cancelled job stays, so that a worker that takes it late still sees it. */
const cancelMarkSeconds = 7 * 24 * 3600;

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString());

export interface ScheduleRequest {
  readonly id: string;
  readonly everySeconds?: number;
  readonly cron?: string;
  readonly data: FlowJobData;
}

/** The shortest time between two of a cron pattern's next 50 runs, in seconds; throws on a pattern BullMQ cannot read. */
export function shortestCronGapSeconds(pattern: string, from = Date.now()): number {
  let shortest = Number.POSITIVE_INFINITY;
  let last = getNextMillis(from, { pattern });
  for (let i = 0; i < 50 && last !== undefined; i++) {
    const next = getNextMillis(last, { pattern });
    if (next === undefined) break;
    shortest = Math.min(shortest, next - last);
    last = next;
  }
  return shortest / 1000;
}

/** The queue side of the jobs: submit, look at, list, cancel, schedule. Used by the API and the CLI. */
export class JobStore {
  readonly queue: Queue<FlowJobData>;
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof controlKeys>;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#keys = controlKeys(prefix);
    this.queue = new Queue<FlowJobData>(queueName, { connection: redis, prefix, defaultJobOptions });
  }

  async submit(data: FlowJobData): Promise<string> {
    const id = randomUUID();
    await this.queue.add(data.name, data, { jobId: id });
    return id;
  }

  async #view(fetched: Job<FlowJobData>): Promise<JobView> {
    let job = fetched;
    const raw = await job.getState();
    // The job may have finished between its fetch and the state's: read it again for its result.
    if ((raw === 'completed' || raw === 'failed') && !job.finishedOn) job = (await this.queue.getJob(job.id!)) ?? job;
    const result = job.returnvalue as { cancelled?: boolean } | null | undefined;
    const cancelled = (await this.#redis.exists(this.#keys.cancel(job.id!))) === 1;
    let state: JobState;
    if (raw === 'completed') state = result?.cancelled === true ? 'cancelled' : 'completed';
    else if (raw === 'failed') state = 'failed';
    else if (raw === 'active') state = 'active';
    else state = cancelled ? 'cancelled' : 'waiting';
    const view: JobView = {
      id: job.id!,
      name: job.name,
      state,
      origin: job.data?.origin,
      attempts: job.attemptsMade,
      ...(job.progress === 0 || job.progress === undefined ? {} : { progress: job.progress }),
      ...(result === null || result === undefined ? {} : { result }),
      ...(job.failedReason ? { error: job.failedReason } : {}),
      createdAt: iso(job.timestamp),
      startedAt: iso(job.processedOn),
      finishedAt: iso(job.finishedOn),
      ...(job.repeatJobKey === undefined ? {} : { scheduler: job.repeatJobKey }),
    };
    return view;
  }

  /** A job removed from the queue on cancel, from its cancel mark; undefined when there is none. */
  #removedView(id: string, mark: string | null): JobView | undefined {
    if (mark === null) return undefined;
    const info = JSON.parse(mark) as { name?: string; at?: number; created?: number; removed?: boolean };
    if (info.removed !== true) return undefined;
    return {
      id,
      name: info.name ?? '',
      state: 'cancelled',
      attempts: 0,
      ...(info.created === undefined ? {} : { createdAt: iso(info.created) }),
      finishedAt: iso(info.at),
    };
  }

  /** A job, or undefined when unknown (or not an id ferry gives); a waiting job that was cancelled (and removed) is reported `cancelled`. */
  async get(id: string): Promise<JobView | undefined> {
    if (!isJobId(id)) return undefined;
    const job = await this.queue.getJob(id);
    if (job !== undefined && job !== null) return this.#view(job);
    return this.#removedView(id, await this.#redis.get(this.#keys.cancel(id)));
  }

  /** The waiting jobs removed on cancel, newest first, while their marks last. */
  async #removed(limit: number): Promise<JobView[]> {
    await this.#redis.zremrangebyscore(this.#keys.removed, '-inf', Date.now() - cancelMarkSeconds * 1000);
    const ids = await this.#redis.zrevrange(this.#keys.removed, 0, limit - 1);
    if (ids.length === 0) return [];
    const marks = await this.#redis.mget(...ids.map((id) => this.#keys.cancel(id)));
    const views: JobView[] = [];
    for (const [i, id] of ids.entries()) {
      const view = this.#removedView(id, marks[i] ?? null);
      if (view !== undefined) views.push(view);
      else await this.#redis.zrem(this.#keys.removed, id);
    }
    return views;
  }

  async list(state?: JobState, limit = 100): Promise<JobView[]> {
    const types: Record<JobState, Parameters<Queue['getJobs']>[0]> = {
      waiting: ['waiting', 'delayed', 'prioritized'],
      active: ['active'],
      completed: ['completed'],
      failed: ['failed'],
      cancelled: ['completed', 'waiting', 'delayed'],
    };
    const wanted =
      state === undefined ? ['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'] : types[state];
    const jobs = await this.queue.getJobs(wanted as Parameters<Queue['getJobs']>[0], 0, limit - 1, false);
    const views = await Promise.all(jobs.filter((j): j is Job<FlowJobData> => j != null).map((j) => this.#view(j)));
    const removed = state === undefined || state === 'cancelled' ? await this.#removed(limit) : [];
    return [...(state === undefined ? views : views.filter((v) => v.state === state)), ...removed].slice(0, limit);
  }

  /**
   * Cancels a job: a mark in Redis that the worker running it polls (its pump
   * stops cleanly, the batch in hand finished or released); a job not yet
   * taken is removed. Resolves to the state after, or undefined when unknown
   * (or not an id ferry gives: BullMQ's own keys are not jobs).
   */
  async cancel(id: string): Promise<JobState | undefined> {
    if (!isJobId(id)) return undefined;
    const job = await this.queue.getJob(id);
    if (job === undefined || job === null) return (await this.get(id))?.state;
    const raw = await job.getState();
    if (raw === 'completed' || raw === 'failed') return (await this.#view(job)).state;
    const mark = { name: job.name, at: Date.now(), created: job.timestamp, removed: false };
    const first = await this.#redis.set(this.#keys.cancel(id), JSON.stringify(mark), 'EX', cancelMarkSeconds, 'NX');
    if (first === 'OK') await this.#redis.incr(this.#keys.cancelled);
    if (raw !== 'active') {
      try {
        await job.remove();
        await this.#redis.set(
          this.#keys.cancel(id),
          JSON.stringify({ ...mark, removed: true }),
          'EX',
          cancelMarkSeconds,
        );
        await this.#redis.zadd(this.#keys.removed, mark.at, id);
        return 'cancelled';
      } catch {
        // Taken by a worker in the meantime: it sees the mark.
      }
    }
    return 'active';
  }

  async schedule(request: ScheduleRequest): Promise<void> {
    const repeat =
      request.cron !== undefined ? { pattern: request.cron } : { every: (request.everySeconds ?? 60) * 1000 };
    await this.queue.upsertJobScheduler(request.id, repeat, {
      name: request.data.name,
      data: { ...request.data, origin: 'schedule' },
    });
  }

  async schedules(): Promise<{ id: string; name: string; every?: number; cron?: string; next?: string }[]> {
    const list = await this.queue.getJobSchedulers(0, 999, true);
    return list.map((s) => ({
      id: s.key,
      name: s.name,
      ...(s.every === undefined || s.every === null ? {} : { everySeconds: Number(s.every) / 1000 }),
      ...(s.pattern === undefined || s.pattern === null ? {} : { cron: s.pattern }),
      ...(s.next === undefined ? {} : { next: new Date(s.next).toISOString() }),
    }));
  }

  async removeSchedule(id: string): Promise<boolean> {
    if (!scheduleIdPattern.test(id)) return false;
    return this.queue.removeJobScheduler(id);
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
  }

  async cancelledCount(): Promise<number> {
    return Number((await this.#redis.get(this.#keys.cancelled)) ?? 0);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
