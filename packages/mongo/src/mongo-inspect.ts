import { deadLetterSummary, type Inspector, type InspectSettings, inspectCall, withTimeout } from '@ferry/core';
import type { Db } from 'mongodb';
import { MongoConnection } from './mongo-client.js';
import { renderId } from './mongo-codec.js';
import { parseConnectionOptions, parseMongoUrl, parseSinkOptions, parseSourceOptions } from './mongo-config.js';

/** The collection an endpoint's options name, a source's or a sink's, and its database. */
function collectionOf(options: unknown): { database: string; collection: string } {
  try {
    return parseSourceOptions(options);
  } catch (error) {
    try {
      return parseSinkOptions(options);
    } catch {
      throw error;
    }
  }
}

/**
 * Questions about one MongoDB deployment through the package's own client:
 * ping and buildInfo for the version (the login checked by the handshake),
 * estimatedDocumentCount for a depth, the newest documents by `rejectedAt`
 * for a dead-letter collection's latest. One client, opened on first use and kept.
 */
export function inspectMongo(options: unknown, settings: InspectSettings): Inspector {
  const { url, database, tls } = parseConnectionOptions(options);
  const { timeoutMs } = settings;
  const address = parseMongoUrl(url);
  const connection = new MongoConnection({
    url,
    database: database ?? address?.database ?? 'admin',
    connectionName: settings.clientName,
    // The driver gives up a little before the question does, so that its reason (the socket's error) is the answer.
    serverSelectionTimeoutMs: Math.max(1, Math.floor(timeoutMs * 0.9)),
    connectTimeoutMs: timeoutMs,
    writeConcern: { w: 'majority' },
    ...(tls === undefined ? {} : { tls }),
  });
  let opening: Promise<Db> | undefined;

  /** The open client; a failed open is forgotten, so that the next question tries again. */
  const connected = (): Promise<Db> => {
    if (opening === undefined) {
      const attempt = connection.open();
      opening = attempt;
      attempt.catch(() => {
        if (opening === attempt) opening = undefined;
      });
    }
    return opening;
  };

  /** A database of the deployment, through the one client. */
  const databaseNamed = async (name: string): Promise<Db> => {
    await connected();
    return connection.database(name);
  };

  return {
    probe: () =>
      inspectCall('the server', timeoutMs, async () => {
        await connected();
        const admin = connection.database('admin');
        await connection.call('running ping', () => admin.command({ ping: 1 }));
        const info = await connection.call('running buildInfo', () => admin.command({ buildInfo: 1 }));
        const version = typeof info.version === 'string' ? info.version : undefined;
        const user = address?.username !== undefined;
        return {
          ...(version === undefined ? {} : { version }),
          detail: `reachable, ping and buildInfo answered${user ? ', logged in' : ''}`,
        };
      }),

    async depth(endpoint) {
      const { database, collection } = collectionOf(endpoint);
      return inspectCall('collection', timeoutMs, async () => {
        const db = await databaseNamed(database);
        return connection.call('counting documents', () => db.collection(collection).estimatedDocumentCount());
      });
    },

    async latest(endpoint, count) {
      const { database, collection } = collectionOf(endpoint);
      const docs = await inspectCall('find', timeoutMs, async () => {
        const db = await databaseNamed(database);
        return connection.call('reading dead letters', () =>
          db
            .collection(collection)
            .find({}, { projection: { reason: 1, sourceId: 1, rejectedAt: 1 } })
            .sort({ rejectedAt: -1 })
            .limit(count)
            .toArray(),
        );
      });
      return docs.map((doc) => deadLetterSummary(doc, renderId(doc._id)));
    },

    async close() {
      const pending = opening;
      opening = undefined;
      // A client still opening is closed once it opened, however long that takes.
      const closing = (pending ?? Promise.resolve()).catch(() => undefined).then(() => connection.close());
      await withTimeout(closing, timeoutMs, () => new Error('close: no answer')).catch(() => undefined);
    },
  };
}
