/**
 * What the dashboard's event stream sends, once a second when something
 * changed: the whole picture, so that a page that (re)connects needs nothing
 * else. Types only: the page's code imports them too.
 */

export type JobStateName = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled';

/** A registered system: what the page draws the edge matrix and the endpoints' badges from. */
export interface SystemInfo {
  /** The one capital letter of edge names: the S of `S2Q`. */
  readonly letter: string;
  /** The connection kind of a config. */
  readonly kind: string;
  /** For people: `Redis Streams`. */
  readonly title: string;
  /** `store`: records rest there (two stores exchange data through a stream); `stream`: records pass through. */
  readonly holds: 'store' | 'stream';
  /** Its connector is registered in this server (built in, or a plug-in of its config). */
  readonly installed: boolean;
}

/** One cell of the edge matrix, with the config's flows on it and the jobs running it now. */
export interface EdgeCell {
  readonly name: string;
  /** The source system's letter. */
  readonly from: string;
  /** The sink system's letter. */
  readonly to: string;
  readonly allowed: boolean;
  /** Why a refused edge is refused. */
  readonly reason?: string;
  /** Permitted, and both systems' connectors are registered: a flow on it can run here. */
  readonly installed: boolean;
  readonly flows: readonly string[];
  readonly active: number;
}

/** A flow of the config, as the page offers it to start or schedule. */
export interface FlowInfo {
  readonly name: string;
  readonly edge?: string;
  /** `connection/stream name`, never a URL. */
  readonly source: string;
  readonly sink: string;
  readonly deadLetter?: string;
  /** stopWhenEmpty false: runs until cancelled. */
  readonly follow: boolean;
}

/** A job with what the page draws of it. */
export interface JobInfo {
  readonly id: string;
  readonly name: string;
  readonly state: JobStateName;
  readonly edge?: string;
  readonly origin?: string;
  readonly records: number;
  readonly deadLettered: number;
  /** Records per second since the job started (its own figure). */
  readonly rate: number;
  /** Records waiting at the source, when the source can tell. */
  readonly backlog?: number;
  /** `empty`, `maxBatches`, `full`, `aborted`: set once the job has ended. */
  readonly stopReason?: string;
  readonly error?: string;
  readonly lastError?: string;
  readonly waiting?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly scheduler?: string;
  /** Records per second between the dashboard's samples (about one a second), oldest first. */
  readonly rates: readonly number[];
}

/** A stream, queue, collection or table the config names, with its depth over time. */
export interface EndpointDepth {
  readonly id: string;
  readonly letter: string;
  readonly connection: string;
  /** `stream`, `queue`, `exchange`, `collection`, `table`…: as its connector describes it. */
  readonly what: string;
  readonly name: string;
  /** Which flows use it, and as what. */
  readonly roles: readonly { readonly flow: string; readonly role: 'source' | 'sink' | 'deadLetter' }[];
  /** The latest count; absent when it could not be read (see error) or has no depth (an exchange). */
  readonly depth?: number;
  readonly error?: string;
  /** `[epoch ms, count]`, oldest first. */
  readonly history: readonly (readonly [number, number])[];
}

export interface DeadLetterEntry {
  readonly id?: string;
  readonly reason: string;
  readonly sourceId?: string;
  readonly at?: string;
}

/** A flow's dead-letter target: how many records it holds, and the newest reasons where they can be read cheaply. */
export interface DeadLetterInfo {
  readonly flow: string;
  readonly endpoint: string;
  readonly count?: number;
  readonly error?: string;
  /** Newest first; absent when the target cannot be peeked at without taking (a queue). */
  readonly latest?: readonly DeadLetterEntry[];
}

export interface ScheduleInfo {
  readonly id: string;
  readonly name: string;
  readonly everySeconds?: number;
  readonly cron?: string;
  readonly next?: string;
}

export interface DashboardSnapshot {
  /** When this picture was taken (ISO 8601). */
  readonly at: string;
  readonly version?: string;
  /** The registered systems, in the edge matrix's order. */
  readonly systems: readonly SystemInfo[];
  readonly edges: readonly EdgeCell[];
  readonly flows: readonly FlowInfo[];
  readonly jobs: readonly JobInfo[];
  readonly endpoints: readonly EndpointDepth[];
  readonly deadLetters: readonly DeadLetterInfo[];
  readonly schedules: readonly ScheduleInfo[];
  /** The control store could not be read: jobs and schedules are the last ones seen. */
  readonly controlError?: string;
}
