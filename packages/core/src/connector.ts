import type { ZodType } from 'zod';
import type { OpenBenchEnd } from './bench-end.js';
import type { Sink, Source } from './contracts.js';
import type { EndpointTarget } from './endpoint-target.js';
import type { OpenTestEnd } from './testing.js';
import type { ValueKind } from './value.js';

export type EndpointRole = 'source' | 'sink';

/**
 * Everything the runner, the CLI, the API, the dashboard and the bench know
 * of one system, exported whole by its package: adding a system is one
 * package and the line that registers its definition.
 * Factories validate their options eagerly and connect only on `open()`,
 * so building one is also how a config is validated.
 */
export interface ConnectorDefinition {
  /** The connection `kind` of a config: lower case, such as `redis-stream`. */
  readonly kind: string;
  /** One capital letter naming the system in an edge: the S of `S2Q`. */
  readonly letter: string;
  /** The system's name for people: `Redis Streams`. */
  readonly title: string;
  /** URL schemes (`redis:`, `rediss:`) from which a CLI URL tells this kind. */
  readonly schemes: readonly string[];
  /**
   * `store`: records rest there and are read by a cursor (a collection, a
   * table); `stream`: records pass through (a stream, a queue). Two stores
   * exchange data only through a stream.
   */
  readonly holds: 'store' | 'stream';
  /** The options the factories take: a connection's keys merged with an endpoint's. */
  readonly options: { readonly source: ZodType; readonly sink: ZodType };
  /**
   * The endpoint keys an API caller may choose per role (stream, queue,
   * mode, batch settings…); every other key is the operator's, set in the
   * config file: servers, credentials, databases, DDL, server-side filters.
   */
  readonly dataPlaneKeys: { readonly source: readonly string[]; readonly sink: readonly string[] };
  /**
   * What in an endpoint's options deletes records that others could still
   * read (a store's `move`, a stream read by range and deleted, a trim),
   * beyond a queue's own consumption; undefined when nothing does. Where
   * `api.allow` refuses destructive modes, such an endpoint is refused.
   * Options are those the factories take, already found valid.
   */
  destructive?(role: EndpointRole, options: unknown): DestructiveUse | undefined;
  createSource(options: unknown): Source;
  createSink(options: unknown): Sink;
  /**
   * The stream, queue, collection or table that a source's or a sink's
   * options name, and its server, without connecting; undefined where the
   * options cannot tell (a sink publishing to an exchange, a ready client).
   * Options are those the factories take, already found valid.
   */
  target?(role: EndpointRole, options: unknown): EndpointTarget | undefined;
  /** What an endpoint's options name, for labels, locks and parallelism; throws when the options are not valid. */
  describeEndpoint(role: EndpointRole, options: unknown): EndpointDescription;
  /**
   * A client of the connector's own for the runner's questions about a
   * connection (`ferry doctor`, the dashboard's depths): never a flow's.
   * Connects on first use; options are the connection's keys.
   */
  inspect?(options: unknown, settings: InspectSettings): Inspector;
  /** How each kind of value is stored and read back: the README's table, and the fidelity tests' expectations. */
  readonly types?: readonly TypeTableRow[];
  /** The bench's end for this system, loaded only by the bench. */
  readonly bench?: () => Promise<OpenBenchEnd>;
  /** The end-to-end suites' end for this system (`<package>/testing`), loaded only by tests. */
  readonly testing?: () => Promise<OpenTestEnd>;
}

/** The option that makes an endpoint delete records, and what it deletes. */
export interface DestructiveUse {
  /** The option key: `mode`, `trim`. */
  readonly key: string;
  /** What it deletes, for a person: `mode "move" deletes each document once copied`. */
  readonly reason: string;
}

/** What an endpoint names, as far as its options tell. */
export interface EndpointDescription {
  /** `stream`, `queue`, `exchange`, `collection`, `table`… */
  readonly what: string;
  readonly name: string;
  /** The database, vhost or namespace of a collection or a table, where the options or their URL name one. */
  readonly database?: string;
  /** A source read by a single cursor (a range, a checkpoint): the runner locks it and allows one reader. */
  readonly singleReader: boolean;
  /**
   * For competing readers that each need a stable name (a Redis group's
   * consumer): the option key the runner puts a leased reader name in,
   * when the options name no reader themselves.
   */
  readonly readerOption?: string;
  /** What groups competing readers (a Redis consumer group): part of the source's identity. */
  readonly readerGroup?: string;
}

export interface InspectSettings {
  /** How long one question may take before it is reported as unanswered. */
  readonly timeoutMs: number;
  /** The client's name on the server, where it has one: `ferry:dashboard`. */
  readonly clientName: string;
}

/** What `ferry doctor` shows of a reachable server. */
export interface ProbeResult {
  readonly version?: string;
  /** What was checked: `reachable, logged in`. */
  readonly detail: string;
}

/** A dead letter as the dashboard lists it. */
export interface DeadLetterSummary {
  readonly id?: string;
  readonly reason: string;
  readonly sourceId?: string;
  readonly at?: string;
}

/**
 * One connection's questions, with one client kept between them. Failures
 * reject with the server's reason in short, worded for an operator:
 * `credentials refused: …`, `unreachable: …`.
 */
export interface Inspector {
  /** Reachable, server version where cheap, credentials accepted. */
  probe(): Promise<ProbeResult>;
  /** How many records wait at an endpoint (options as the factories take them); one cheap call. */
  depth(options: unknown): Promise<number>;
  /** The newest dead letters at an endpoint, where they can be read without taking them. */
  latest?(options: unknown, count: number): Promise<readonly DeadLetterSummary[]>;
  close(): Promise<void>;
}

/** One row of a connector's type table. */
export interface TypeTableRow {
  readonly kind: ValueKind;
  /** How the system holds such a value: `Int64`, `text in the field`, `dead-lettered`. */
  readonly stored: string;
  /** What a source of this system reads back from it, where it differs from the kind written. */
  readonly readBack?: string;
}
