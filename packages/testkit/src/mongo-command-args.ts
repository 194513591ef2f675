import { calculateObjectSize } from 'bson';
import type { Cursors } from './mongo-cursor-commands.js';
import { CommandError, codes } from './mongo-errors.js';
import { numberType, toJsNumber } from './mongo-numbers.js';
import { type Document, isDocument } from './mongo-query.js';
import type { Store } from './mongo-store.js';

/** What a modern standalone mongod (7.0, wire version 21) announces of its limits. */
export const limits = {
  maxBsonObjectSize: 16 * 1024 * 1024,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
  maxWireVersion: 21,
  version: '7.0.0',
} as const;

/** The document sizes a request came with, where the wire parser knew them (document sequences). */
export const knownSizes = new WeakMap<object, number>();

export function sizeOf(doc: Document): number {
  return knownSizes.get(doc) ?? calculateObjectSize(doc);
}

/** What a command may use of the server: its documents and its open cursors. */
export interface ServerState {
  readonly store: Store;
  readonly cursors: Cursors;
}

/** One command: its document, database and the document sequences of its OP_MSG, to the reply. */
export type Command = (
  state: ServerState,
  cmd: Document,
  db: string,
  sequences: ReadonlyMap<string, Document[]>,
) => Document;

export function int(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = numberType(value) === undefined ? Number.NaN : toJsNumber(value);
  if (!Number.isFinite(n))
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `Field '${field}' must be a number`);
  return Math.trunc(n);
}

export function documentOr(value: unknown, field: string, fallback: Document): Document {
  if (value === undefined || value === null) return fallback;
  if (!isDocument(value)) {
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `Expected field ${field} to be of type object`);
  }
  return value;
}

export function collectionName(cmd: Document, name: string): string {
  const value = cmd[name];
  if (typeof value !== 'string') {
    throw new CommandError(
      codes.InvalidNamespace,
      'InvalidNamespace',
      `collection name has invalid type ${Array.isArray(value) ? 'array' : typeof value}`,
    );
  }
  return value;
}

/** The batchSize of a command's `cursor` option, when it has one. */
export function cursorBatchSize(cmd: Document): number | undefined {
  const options = documentOr(cmd.cursor, 'cursor', {});
  return options.batchSize === undefined ? undefined : int(options.batchSize, 'batchSize', 0);
}

/** The documents of a write command: from its document sequence (OP_MSG kind 1) or its body. */
export function items(cmd: Document, field: string, sequences: ReadonlyMap<string, Document[]>): Document[] {
  const list = sequences.get(field) ?? cmd[field];
  if (!Array.isArray(list) || !list.every(isDocument)) {
    throw new CommandError(codes.TypeMismatch, 'TypeMismatch', `BSON field '${field}' is missing or not an array`);
  }
  if (list.length > limits.maxWriteBatchSize) {
    throw new CommandError(
      codes.InvalidLength,
      'InvalidLength',
      `Write batch sizes must be between 1 and ${limits.maxWriteBatchSize}. Got ${list.length} operations.`,
    );
  }
  return list as Document[];
}

export function writeError(index: number, error: CommandError): Document {
  return { index, code: error.code, errmsg: error.message, ...error.extra };
}
