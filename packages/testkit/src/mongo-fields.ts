import { CommandError, codes, notImplemented } from './mongo-errors.js';
import type { Document } from './mongo-query.js';

/**
 * The generic arguments mongod takes on every command (generic_argument.idl):
 * sessions, read and write concerns, API version, comments, cluster time.
 * A standalone server has nothing to do with most of them, so they are accepted.
 */
const generic = new Set([
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  '$db',
  'maxTimeMS',
  'readConcern',
  'writeConcern',
  'lsid',
  'clientOperationKey',
  'txnNumber',
  'stmtId',
  'comment',
  '$readPreference',
  '$clusterTime',
  '$audit',
  '$client',
  '$configServerState',
  'allowImplicitCollectionCreation',
  '$oplogQueryData',
  '$queryOptions',
  '$replData',
  'databaseVersion',
  'shardVersion',
  'tracking_info',
  'coordinator',
  'maxTimeMSOpOnly',
  '$configTime',
  '$topologyTime',
  'txnRetryCounter',
  'mayBypassWriteBlocking',
  '$tenant',
  'expectPrefix',
]);

/** Generic arguments whose meaning this server lacks: a transaction must not quietly become single writes. */
const genericRefused: Record<string, string> = {
  startTransaction: 'transactions (startTransaction)',
  autocommit: 'transactions (autocommit)',
};

/** The fields of one command or sub-document: those it implements, and those mongod has that it refuses by name. */
export interface FieldRules {
  readonly implemented: readonly string[];
  readonly refused?: readonly string[];
}

/**
 * Checks a command's fields as mongod's IDL parser does: an unknown field is
 * 40415 `BSON field 'find.x' is an unknown field.`; a field mongod knows but
 * this server does not implement is refused by name (NotImplemented, 238).
 */
export function checkFields(path: string, doc: Document, rules: FieldRules, skipFirst: boolean): void {
  const keys = Object.keys(doc);
  for (const key of skipFirst ? keys.slice(1) : keys) {
    if (rules.implemented.includes(key)) continue;
    if (skipFirst) {
      if (generic.has(key)) continue;
      const refused = genericRefused[key];
      if (refused !== undefined) throw notImplemented(refused);
    }
    if (rules.refused?.includes(key)) throw notImplemented(`the option '${key}' of ${path}`);
    throw new CommandError(codes.UnknownField, 'Location40415', `BSON field '${path}.${key}' is an unknown field.`);
  }
}

/** The fields of each command this server implements (mongod 7.0's IDL for the same commands). */
export const commandFields: Record<string, FieldRules> = {
  insert: { implemented: ['documents', 'ordered', 'bypassDocumentValidation'], refused: ['collectionUUID'] },
  update: { implemented: ['updates', 'ordered', 'bypassDocumentValidation', 'let'], refused: ['collectionUUID'] },
  delete: { implemented: ['deletes', 'ordered', 'let'], refused: ['collectionUUID'] },
  find: {
    implemented: [
      'filter',
      'projection',
      'sort',
      'skip',
      'limit',
      'batchSize',
      'singleBatch',
      'hint',
      'let',
      'collation',
      'allowDiskUse',
      'noCursorTimeout',
    ],
    refused: [
      'min',
      'max',
      'returnKey',
      'showRecordId',
      'tailable',
      'oplogReplay',
      'awaitData',
      'allowPartialResults',
      'readOnce',
      'requestResumeToken',
      'resumeAfter',
      'ntoreturn',
      'collectionUUID',
    ],
  },
  getMore: { implemented: ['collection', 'batchSize'], refused: ['lastKnownCommittedOpTime', 'term'] },
  killCursors: { implemented: ['cursors'] },
  findAndModify: {
    implemented: [
      'query',
      'sort',
      'remove',
      'update',
      'new',
      'fields',
      'upsert',
      'bypassDocumentValidation',
      'arrayFilters',
      'hint',
      'collation',
      'let',
    ],
    refused: ['collectionUUID'],
  },
  aggregate: {
    implemented: ['pipeline', 'cursor', 'allowDiskUse', 'hint', 'let', 'collation', 'bypassDocumentValidation'],
    refused: ['explain', 'collectionUUID'],
  },
  count: { implemented: ['query', 'limit', 'skip', 'hint', 'collation'], refused: ['fields', 'collectionUUID'] },
  distinct: { implemented: ['key', 'query', 'hint', 'collation'], refused: ['collectionUUID'] },
  create: {
    implemented: [],
    refused: [
      'capped',
      'size',
      'max',
      'autoIndexId',
      'viewOn',
      'pipeline',
      'collation',
      'validator',
      'validationLevel',
      'validationAction',
      'indexOptionDefaults',
      'storageEngine',
      'timeseries',
      'clusteredIndex',
      'expireAfterSeconds',
      'changeStreamPreAndPostImages',
      'encryptedFields',
      'recordPreImages',
    ],
  },
  drop: { implemented: [], refused: ['collectionUUID'] },
  dropDatabase: { implemented: [] },
  listCollections: { implemented: ['filter', 'nameOnly', 'authorizedCollections', 'cursor'] },
  listIndexes: { implemented: ['cursor'], refused: ['includeBuildUUIDs', 'includeIndexBuildInfo'] },
  createIndexes: { implemented: ['indexes', 'commitQuorum'], refused: ['ignoreUnknownIndexOptions'] },
  listDatabases: { implemented: ['nameOnly', 'filter', 'authorizedDatabases'] },
  dbStats: { implemented: ['scale'], refused: ['freeStorage'] },
  collStats: { implemented: ['scale'], refused: ['verbose'] },
  renameCollection: { implemented: ['to', 'dropTarget'], refused: ['stayTemp', 'collectionUUID'] },
};

/** The fields of one statement of `update`, `delete`, and one index of `createIndexes`. */
export const statementFields: Record<string, FieldRules> = {
  'update.updates': {
    implemented: ['q', 'u', 'c', 'upsert', 'multi', 'arrayFilters', 'hint', 'collation'],
    refused: ['sort', 'upsertSupplied'],
  },
  'delete.deletes': { implemented: ['q', 'limit', 'hint', 'collation'] },
  'createIndexes.indexes': {
    implemented: ['key', 'name', 'v', 'background', 'unique', 'collation'],
    refused: [
      'sparse',
      'partialFilterExpression',
      'expireAfterSeconds',
      'hidden',
      'weights',
      'default_language',
      'language_override',
      'textIndexVersion',
      '2dsphereIndexVersion',
      'bits',
      'min',
      'max',
      'bucketSize',
      'storageEngine',
      'wildcardProjection',
      'prepareUnique',
      'clustered',
    ],
  },
};
