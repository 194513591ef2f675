import { isUtf8 } from 'node:buffer';
import type { ClickHouseClient } from '@clickhouse/client';
import { createMemorySink, createPump, type FerryRecord, type Sink, type Source } from '@ferry/core';
import type { ConfirmChannel } from 'amqplib';
import type { Redis } from 'ioredis';
import { BSON, type Db, type Document } from 'mongodb';

/**
 * What the fidelity matrix compares: each system's own view of a record, as
 * its raw driver reads it (never through ferry), reduced to plain data that
 * `toEqual` compares exactly. Text is a string only when its bytes are UTF-8;
 * any other bytes stay a Buffer.
 */

/** A Redis stream entry: its fields in order (without `_source_id` and `ferry:types`), and `ferry:types` parsed. */
export interface StreamView {
  readonly fields: (readonly [string | Buffer, string | Buffer])[];
  readonly types?: Record<string, string>;
}

/** An AMQP message: its body (text when UTF-8) and its `ferry-types` header parsed. */
export interface MessageView {
  readonly body: string | Buffer;
  readonly types?: Record<string, string>;
}

/** A ClickHouse row: each column's value as the server prints it (`toString`, or the bytes of a String), null for NULL. */
export type RowView = (readonly [string, string | Buffer | null])[];

/** A record the pump dead-lettered, with its reason (run-specific names replaced by `<source>`/`<target>`). */
export interface Dead {
  readonly dead: string;
}

/** What a system holds for one record: its view, a dead letter, or nothing (`missing`). */
export type Outcome = StreamView | MessageView | string | RowView | Dead | 'missing';

export function textOrBytes(bytes: Buffer): string | Buffer {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes;
}

/** Runs one flow in process to its end: the records each source id led to at the dead-letter sink, by source id. */
export async function move(
  source: Source,
  sink: Sink,
  names: Readonly<Record<string, string>>,
): Promise<Map<string, Dead>> {
  const deadLetter = createMemorySink();
  await createPump({ source, sink, deadLetter, batchSize: 100, flowName: 'fidelity' }).run();
  return deadLetters(deadLetter.records, names);
}

/** Dead letters by source id, their reasons with run-specific names replaced by placeholders. */
function deadLetters(records: readonly FerryRecord[], names: Readonly<Record<string, string>>): Map<string, Dead> {
  const out = new Map<string, Dead>();
  for (const record of records) {
    let reason = String(record.value.reason);
    for (const [placeholder, name] of Object.entries(names)) reason = reason.replaceAll(name, placeholder);
    out.set(String(record.value.sourceId), { dead: reason });
  }
  return out;
}

/** Every entry of a stream through XRANGE as bytes: by its `_source_id` (or by entry id when it has none). */
export async function readStream(
  redis: Redis,
  stream: string,
  sourceIdField = '_source_id',
): Promise<Map<string, StreamView>> {
  const out = new Map<string, StreamView>();
  for (const [id, raw] of await redis.xrangeBuffer(stream, '-', '+')) {
    const fields: [string | Buffer, string | Buffer][] = [];
    let sourceId = id.toString();
    let types: Record<string, string> | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = textOrBytes(raw[i]!);
      const value = textOrBytes(raw[i + 1]!);
      if (name === sourceIdField) sourceId = String(value);
      else if (name === 'ferry:types') types = JSON.parse(String(value));
      else fields.push([name, value]);
    }
    out.set(sourceId, types === undefined ? { fields } : { fields, types });
  }
  return out;
}

/** Every message of a queue through basic.get (acked): by messageId. */
export async function readQueue(channel: ConfirmChannel, queue: string): Promise<Map<string, MessageView>> {
  const out = new Map<string, MessageView>();
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return out;
    const header = message.properties.headers?.['ferry-types'] as string | Buffer | undefined;
    const body = textOrBytes(message.content);
    out.set(
      String(message.properties.messageId),
      header === undefined ? { body } : { body, types: JSON.parse(header.toString()) },
    );
  }
}

/**
 * Every document of a collection, read with `promoteValues: false` so that
 * Int32, Int64 and Double stay apart: by `_id` (as text), each as canonical
 * Extended JSON without its `_id`, where every BSON type is spelled out.
 */
export async function readCollection(db: Db, collection: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const doc of await db.collection(collection).find({}, { promoteValues: false }).toArray()) {
    const { _id, ...rest } = doc as Document;
    out.set(typeof _id === 'string' ? _id : BSON.EJSON.stringify(_id, { relaxed: false }), canonical(rest));
  }
  return out;
}

/** Canonical Extended JSON (`{"$numberLong":"5"}`, `{"$numberDouble":"1.0"}`…). */
export function canonical(value: unknown): string {
  return BSON.EJSON.stringify(value as Document, { relaxed: false });
}

/**
 * How a column is read back so that no value passes through a JS number or
 * a lossy text: the bytes of strings, unix seconds of DateTime, and a
 * decimal's stored integer as its bytes: 18.16 prints a Decimal128 of 38
 * digits with NUL bytes for some of them (`toString(toDecimal128(
 * '1234567890123456789012345678.0123456789', 10))` is
 * `1\0\0\0\0\0\0\090123456789012345678.0123456789`), though it stores it exactly.
 */
function readExpression(name: string, type: string): string {
  const column = `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
  if (/^(Nullable\()?(String|FixedString\(\d+\))\)?$/.test(type)) return `hex(${column})`;
  if (/^DateTime\b/.test(type)) return `toString(toUnixTimestamp(${column}))`;
  if (decimalShape(type) !== undefined) return `hex(reinterpretAsString(${column}))`;
  return `toString(${column})`;
}

/** A decimal column's scale and the bytes of its stored integer, or undefined for other types. */
function decimalShape(type: string): { scale: number; bytes: number } | undefined {
  const general = /^Decimal\((\d+), (\d+)\)$/.exec(type);
  if (general !== null) {
    const precision = Number(general[1]);
    return { scale: Number(general[2]), bytes: precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32 };
  }
  const sized = /^Decimal(32|64|128|256)\((\d+)\)$/.exec(type);
  return sized === null ? undefined : { scale: Number(sized[2]), bytes: Number(sized[1]) / 8 };
}

/** A decimal column's stored integer (little-endian two's complement; reinterpretAsString drops trailing zero bytes) as its text. */
function decimalText(hex: string, { scale, bytes }: { scale: number; bytes: number }): string {
  const held = Buffer.alloc(bytes);
  Buffer.from(hex, 'hex').copy(held);
  let stored = 0n;
  for (let i = bytes - 1; i >= 0; i--) stored = (stored << 8n) | BigInt(held[i]!);
  const bits = BigInt(bytes * 8);
  if (stored >> (bits - 1n) === 1n) stored -= 1n << bits;
  const negative = stored < 0n;
  const digits = (negative ? -stored : stored).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${whole}` : whole;
}

/**
 * Every row of a table: by its `_source_id`, each column as the server
 * prints it (every value a string in JSONEachRow, 64-bit integers included),
 * String columns as their bytes.
 */
export async function readTable(ch: ClickHouseClient, table: string): Promise<Map<string, RowView>> {
  const columns = await (await ch.query({ query: `DESCRIBE TABLE default.\`${table}\``, format: 'JSONEachRow' })).json<{
    name: string;
    type: string;
  }>();
  const list = columns.map((c) => `${readExpression(c.name, c.type)} AS \`c${columns.indexOf(c)}\``).join(', ');
  const rows = await (
    await ch.query({ query: `SELECT ${list} FROM default.\`${table}\``, format: 'JSONEachRow' })
  ).json<Record<string, string | null>>();
  const out = new Map<string, RowView>();
  for (const row of rows) {
    const view: RowView = [];
    let sourceId = '';
    columns.forEach((column, i) => {
      const held = row[`c${i}`] ?? null;
      const decimal = decimalShape(column.type);
      const strings = readExpression(column.name, column.type).startsWith('hex(');
      let value: string | Buffer | null = held;
      if (held !== null && decimal !== undefined) value = decimalText(held, decimal);
      else if (held !== null && strings) value = textOrBytes(Buffer.from(held, 'hex'));
      if (column.name === '_source_id') sourceId = String(value);
      else view.push([column.name, value]);
    });
    out.set(sourceId, view);
  }
  return out;
}

/** Only the listed columns of a row, in that order (a wide table's other columns hold their defaults). */
export function pick(row: RowView, keys: readonly string[]): RowView {
  return keys.map((key) => {
    const found = row.find(([name]) => name === key);
    return [key, found === undefined ? 'no such column' : found[1]] as const;
  });
}
