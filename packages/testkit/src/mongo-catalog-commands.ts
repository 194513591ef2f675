import { calculateObjectSize } from 'bson';
import { collationOf, collationSpec } from './mongo-collation.js';
import { type Command, collectionName, cursorBatchSize, documentOr, int, items } from './mongo-command-args.js';
import { valueKey } from './mongo-compare.js';
import { badValue, CommandError, codes } from './mongo-errors.js';
import { checkFields, statementFields } from './mongo-fields.js';
import { isDocument, matches, truthy, validateFilter } from './mongo-query.js';
import { type Collection, type IndexSpec, showValue } from './mongo-store.js';

/** The BSON bytes of a collection's documents: its data size, as the stats commands report it. */
function dataSize(collection: Collection): number {
  let size = 0;
  for (const doc of collection.query({ filter: {}, sort: [], skip: 0, limit: 0 })) size += calculateObjectSize(doc);
  return size;
}

function scaleOf(value: unknown): number {
  const scale = int(value, 'scale', 1);
  if (scale < 1) throw badValue('Scale factor must be greater than zero');
  return scale;
}

/** A `db.collection` namespace of an admin command. */
function splitNamespace(value: unknown, field: string): [db: string, collection: string] {
  const dot = typeof value === 'string' ? value.indexOf('.') : -1;
  if (typeof value !== 'string' || dot <= 0 || dot === value.length - 1) {
    throw new CommandError(
      codes.InvalidNamespace,
      'InvalidNamespace',
      `Invalid namespace specified '${String(value)}' for ${field}`,
    );
  }
  return [value.slice(0, dot), value.slice(dot + 1)];
}

function adminOnly(db: string, command: string): void {
  if (db !== 'admin') {
    throw new CommandError(
      codes.Unauthorized,
      'Unauthorized',
      `${command} may only be run against the admin database.`,
    );
  }
}

const listDatabases: Command = (state, cmd, db) => {
  adminOnly(db, 'listDatabases');
  const filter = documentOr(cmd.filter, 'filter', {});
  const infos = state.store.databases().map((name) => {
    const sizeOnDisk = state.store.collections(name).reduce((sum, c) => sum + dataSize(c), 0);
    return { name, sizeOnDisk, empty: sizeOnDisk === 0 };
  });
  const databases = infos.filter((info) => matches(info, filter));
  if (truthy(cmd.nameOnly)) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
  return { databases, totalSize: databases.reduce((sum, d) => sum + d.sizeOnDisk, 0), totalSizeMb: 0, ok: 1 };
};

const dbStats: Command = (state, cmd, db) => {
  const scale = scaleOf(cmd.scale);
  const collections = state.store.collections(db);
  const objects = collections.reduce((sum, c) => sum + c.size, 0);
  const size = collections.reduce((sum, c) => sum + dataSize(c), 0);
  return {
    db,
    collections: collections.length,
    views: 0,
    objects,
    avgObjSize: objects === 0 ? 0 : size / objects,
    dataSize: size / scale,
    storageSize: size / scale,
    indexes: collections.reduce((sum, c) => sum + c.indexes.length, 0),
    indexSize: 0,
    totalSize: size / scale,
    scaleFactor: scale,
    ok: 1,
  };
};

const collStats: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'collStats');
  const scale = scaleOf(cmd.scale);
  const collection = state.store.collection(db, name, false);
  if (collection === undefined) {
    throw new CommandError(codes.NamespaceNotFound, 'NamespaceNotFound', `Collection [${db}.${name}] not found.`);
  }
  const size = dataSize(collection);
  return {
    ns: collection.ns,
    size: size / scale,
    count: collection.size,
    avgObjSize: collection.size === 0 ? 0 : size / collection.size,
    storageSize: size / scale,
    nindexes: collection.indexes.length,
    totalIndexSize: 0,
    indexSizes: Object.fromEntries(collection.indexes.map((i) => [i.name, 0])),
    scaleFactor: scale,
    ok: 1,
  };
};

const renameCollection: Command = (state, cmd, db) => {
  adminOnly(db, 'renameCollection');
  const [fromDb, from] = splitNamespace(cmd.renameCollection, 'renameCollection');
  const [toDb, to] = splitNamespace(cmd.to, 'to');
  if (state.store.collection(fromDb, from, false) === undefined) {
    throw new CommandError(
      codes.NamespaceNotFound,
      'NamespaceNotFound',
      `Source collection ${fromDb}.${from} does not exist`,
    );
  }
  if (state.store.collection(toDb, to, false) !== undefined) {
    if (!truthy(cmd.dropTarget))
      throw new CommandError(codes.NamespaceExists, 'NamespaceExists', 'target namespace exists');
    state.store.drop(toDb, to);
  }
  state.store.rename(fromDb, from, toDb, to);
  return { ok: 1 };
};

const create: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'create');
  if (state.store.collection(db, name, false) !== undefined) {
    throw new CommandError(codes.NamespaceExists, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
  }
  state.store.collection(db, name, true);
  return { ok: 1 };
};

const drop: Command = (state, cmd, db) => {
  const dropped = state.store.drop(db, collectionName(cmd, 'drop'));
  // Since 7.0 dropping a collection that does not exist succeeds.
  if (dropped === undefined) return { ok: 1 };
  return { nIndexesWas: dropped.indexes.length, ns: dropped.ns, ok: 1 };
};

const dropDatabase: Command = (state, _cmd, db) => {
  state.store.dropDatabase(db);
  return { ok: 1 };
};

const listCollections: Command = (state, cmd, db) => {
  const filter = documentOr(cmd.filter, 'filter', {});
  validateFilter(filter);
  const nameOnly = cmd.nameOnly === true;
  const infos = state.store.collections(db).map((c) =>
    nameOnly
      ? { name: c.name, type: 'collection' }
      : {
          name: c.name,
          type: 'collection',
          options: {},
          info: { readOnly: false, uuid: c.uuid },
          idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
        },
  );
  const batchSize = cursorBatchSize(cmd);
  const listed = infos.filter((i) => matches(i, filter));
  return state.cursors.reply(`${db}.$cmd.listCollections`, listed, batchSize);
};

const listIndexes: Command = (state, cmd, db) => {
  const name = collectionName(cmd, 'listIndexes');
  const collection = state.store.collection(db, name, false);
  if (collection === undefined) {
    throw new CommandError(codes.NamespaceNotFound, 'NamespaceNotFound', `ns does not exist: ${db}.${name}`);
  }
  const batchSize = cursorBatchSize(cmd);
  return state.cursors.reply(
    `${db}.${name}`,
    collection.indexes.map((i) => ({ ...i })),
    batchSize,
  );
};

const createIndexes: Command = (state, cmd, db, sequences) => {
  const name = collectionName(cmd, 'createIndexes');
  const indexes = items(cmd, 'indexes', sequences);
  const created = state.store.collection(db, name, false) === undefined;
  const collection = state.store.collection(db, name, true)!;
  const before = collection.indexes.length;
  for (const spec of indexes)
    checkFields('createIndexes.indexes', spec, statementFields['createIndexes.indexes']!, false);
  for (const spec of indexes) {
    if (!isDocument(spec.key) || typeof spec.name !== 'string' || Object.keys(spec.key).length === 0) {
      throw new CommandError(
        codes.FailedToParse,
        'FailedToParse',
        'Error in specification: an index needs a key and a name',
      );
    }
    const same = collection.indexes.find((i) => i.name === spec.name);
    if (same !== undefined) {
      if (valueKey(same.key) !== valueKey(spec.key)) {
        throw new CommandError(
          86,
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. Requested index: ${showValue(spec)}, existing index: ${showValue(same)}`,
        );
      }
      continue;
    }
    const { collation, ...options } = spec;
    const index: Record<string, unknown> = { v: 2, ...options, key: spec.key, name: spec.name };
    if (spec.unique !== undefined) index.unique = truthy(spec.unique);
    // mongod lists an index's collation with every field filled in; the simple one is no collation.
    const full = collationSpec(collation);
    if (full !== undefined) index.collation = full;
    collection.addIndex(index as IndexSpec, collationOf(collation));
  }
  return {
    numIndexesBefore: before,
    numIndexesAfter: collection.indexes.length,
    createdCollectionAutomatically: created,
    ok: 1,
  };
};

export const catalogCommands: Readonly<Record<string, Command>> = {
  create,
  drop,
  dropDatabase,
  renameCollection,
  listDatabases,
  listCollections,
  listIndexes,
  createIndexes,
  dbStats,
  collStats,
};
