import type { EndpointRole } from './connector.js';
import type { RecordValue } from './record.js';

/**
 * What the end-to-end suites need of one system, written once in its package
 * (exported as `<package>/testing`, loaded by the definition's `testing`), so
 * that the suites iterate the registered connectors and name none: config
 * entries, names of its own, seeding and reading back with the system's own
 * driver, never through ferry.
 */
export interface TestEnd {
  /** The `connections:` entry of a config file for this system: `{ kind, url, … }`. */
  connection(): Readonly<Record<string, unknown>>;
  /**
   * A stream, queue, collection or table name of its own for a label (made
   * valid for the system), removed by `close` with whatever was made under it.
   */
  name(label: string): string;
  /** The endpoint keys of a flow that reads (`source`) or writes (`sink`) the named thing: `{ table, cursor }`. */
  endpoint(name: string, role: EndpointRole): Readonly<Record<string, unknown>>;
  /** Makes the named thing ready to take records like `sample` (a table with its columns and DDL, a declared queue). */
  create(name: string, sample: RecordValue): Promise<void>;
  /**
   * Writes the values with the system's own driver, as a producer outside
   * ferry would, in order. Each value holds `n`, an increasing integer (the
   * cursor a store's source reads by). Resolves with the ids a source of this
   * system gives them, in the same order.
   */
  seed(name: string, values: readonly RecordValue[]): Promise<string[]>;
  /**
   * Every record the target holds, oldest first where it keeps an order, read
   * with the system's own driver. A queue's messages are taken by it: read
   * back once, after counting.
   */
  readBack(name: string): Promise<HeldRecord[]>;
  /** How many records the target holds. */
  count(name: string): Promise<number>;
  /**
   * What a source of this system has not had acknowledged (entries, messages
   * still there or unacked); undefined for a store read by a checkpoint, which
   * keeps its records.
   */
  left(name: string): Promise<number | undefined>;
  drop(name: string): Promise<void>;
  /** Removes everything made under `name` and closes the clients. */
  close(): Promise<void>;
  /**
   * The name of the move a source of this system takes into a sink of the
   * same system on the same server (`Source.directTo`), when it has one.
   */
  readonly directMove?: string;
  /** Present when a source of this system counts deliveries across restarts (`maxDeliveries`). */
  readonly poison?: PoisonEnd;
  /** The system's rows and column of the fidelity matrix. */
  readonly fidelity?: FidelityEnd;
}

/** A record a target holds, as the system's own driver reads it. */
export interface HeldRecord {
  /** The source id the target keeps with it (`_source_id`, a messageId, `_id`, a header), when it keeps one. */
  readonly id: string | undefined;
  /**
   * Each top-level key: text as a string, a number as its digits, bytes
   * (base64 text tagged bytes too) as a Buffer, a nested value as JSON text.
   */
  readonly value: Readonly<Record<string, string | Buffer | null>>;
}

/** A source whose delivery count outlives a worker's crash. */
export interface PoisonEnd {
  /** Endpoint keys of a source that hands a record over as rejected at its `maxDeliveries`-th delivery, one at a time. */
  endpoint(name: string, maxDeliveries: number): Readonly<Record<string, unknown>>;
  /** Seeds like `seed`, into what such a source reads (a queue of the type that counts). */
  seed(name: string, values: readonly RecordValue[]): Promise<string[]>;
}

/**
 * One system in the fidelity matrix. A case is named `<family>/<name>`: the
 * families are data sets as an outside producer writes them (`fields`: a
 * Redis stream's field texts; `json`: JSON bodies with a `ferry-types`
 * header; `bson`: documents of every BSON type; `columns`: typed ClickHouse
 * rows). A source seeds the cases of its family in its own native forms; a
 * target says, for every case that reaches it, what its own driver reads
 * back. A new system joins by seeding an existing family and giving its
 * column for every case.
 */
export interface FidelityEnd {
  /** The cases this system seeds as a source. */
  readonly cases: readonly FidelitySourceCase[];
  /** Seeds every case, into one or more things named from the label (made with the end's `name`). */
  seed(label: string): Promise<FidelitySeed>;
  /** Source endpoint keys run as extra rows of the same-system edge (`{ direct: false }`), each with a label. */
  readonly variants?: readonly { readonly label: string; readonly source: Readonly<Record<string, unknown>> }[];
  /** Makes the named thing ready to take these cases (a table with their columns). */
  create(name: string, cases: readonly string[]): Promise<void>;
  /** Every record the target holds, read with its own driver and reduced to plain data, by source id. */
  read(name: string): Promise<ReadonlyMap<string, unknown>>;
  /**
   * What this system holds for a case written to it (by `<family>/<name>`):
   * a view as `read` gives it, or `{ dead: reason }` with `<source>` and
   * `<target>` for the run's names; undefined when it has no row for the case.
   */
  expect(kase: string): unknown;
  /** The part of a held view that a case speaks of (a wide table's row: the case's columns). */
  shown?(view: unknown, kase: string): unknown;
  /** How a reason names the thing (`collection "x" at host, database "d"`), where it is not just its name. */
  where?(name: string): string;
}

/** What a source seeded for the matrix. */
export interface FidelitySeed {
  /** The things to read, one flow each, in turn. */
  readonly names: readonly string[];
  /** By the source id each record gets, the name of its case. */
  readonly cases: ReadonlyMap<string, string>;
}

/** One record a source seeds in the matrix. */
export interface FidelitySourceCase {
  /** Its name at the source: what `seed` maps ids to. */
  readonly name: string;
  /** The case every target shows it as (`json/int_2p53p1`): what the source reads it as. */
  readonly reads?: string;
  /** Set when the source cannot hand it over: the reason it is dead-lettered with, at every other system. */
  readonly refused?: string;
  /** What its own system holds after a same-system edge, where that is not `reads`' view (a copy kept as it was). */
  readonly same?: unknown;
}

/** Tells test files and runs apart: part of every name an end makes. */
export interface TestEndContext {
  /** Letters, digits and `_`. */
  readonly scope: string;
}

/** Opens one system's test end for one test file. */
export type OpenTestEnd = (ctx: TestEndContext) => Promise<TestEnd>;
