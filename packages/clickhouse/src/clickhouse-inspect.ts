import { type Inspector, type InspectSettings, inspectCall } from '@ferry/core';
import { ClickHouseHttp } from './clickhouse-client.js';
import { parseConnectionOptions, parseSinkOptions, parseSourceOptions } from './clickhouse-config.js';
import { qualifiedName } from './clickhouse-sql.js';

/** The table an endpoint's options name, a source's or a sink's, and its database. */
function tableOf(options: unknown): { database: string; table: string } {
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

/** The server's words without their wrapping: `Table default.t doesn't exist.` of `Code: 60, … DB::Exception: …, e.what() = …`. */
function shortServerReason(text: string): string {
  return /DB::Exception: (.+?)(?:, e\.what\(\)|$)/.exec(text.trim())?.[1]?.trim() ?? text;
}

/** The last question about an embedded ClickHouse in this process: the next one waits for it. */
let embeddedTurns: Promise<unknown> = Promise.resolve();

/**
 * Questions about one ClickHouse server through the package's own HTTP
 * client: `SELECT version()` (which checks the credentials) for the probe,
 * `SELECT count()` for a depth. One client, made on first use and kept; for
 * an embedded ClickHouse, one per question, closed after it, so that the
 * directory stays free for the process that runs its flows (a dashboard in
 * another process never keeps a worker out), and a directory another process
 * holds is that reason, at once. No `latest`: a table has no dead-letter layout to read by.
 */
export function inspectClickHouse(options: unknown, settings: InspectSettings): Inspector {
  const { url, database, username, password, tls } = parseConnectionOptions(options);
  const { timeoutMs } = settings;
  const embedded = url?.startsWith('chdb:') === true;
  let http: ClickHouseHttp | undefined;
  const open = (): ClickHouseHttp =>
    new ClickHouseHttp(
      {
        url,
        database,
        username,
        password,
        // The client names itself `ferry:<connectionName>` (the HTTP application, in system.query_log).
        connectionName: settings.clientName.replace(/^ferry:/, ''),
        requestTimeoutMs: timeoutMs,
        tls,
      },
      { chdb: { waitMs: 0, mustExist: true } },
    );
  const ask = async <T>(question: (client: ClickHouseHttp) => Promise<T>): Promise<T> => {
    if (!embedded) {
      http ??= open();
      // A failed check is tried again at the next question: nothing of it is kept.
      await http.check();
      return question(http);
    }
    // chDB runs one directory per process: questions about embedded ones take turns, each closing before the next.
    const turn = embeddedTurns.then(async () => {
      const client = open();
      try {
        await client.check();
        return await question(client);
      } finally {
        await client.close();
      }
    });
    embeddedTurns = turn.catch(() => undefined);
    return turn;
  };

  return {
    probe: () =>
      inspectCall(
        'the server',
        timeoutMs,
        async () => {
          const [row] = await ask((client) =>
            client.query<{ version: string }>('asking its version', 'SELECT version() AS version'),
          );
          return { ...(row === undefined ? {} : { version: row.version }), detail: 'reachable, query answered' };
        },
        shortServerReason,
      ),

    async depth(endpoint) {
      const { database: db, table } = tableOf(endpoint);
      const name = qualifiedName(db, table);
      return inspectCall(
        'table',
        timeoutMs,
        async () => {
          const [row] = await ask((client) =>
            client.query<{ n: string }>('counting rows', `SELECT count() AS n FROM ${name}`),
          );
          return Number(row?.n);
        },
        shortServerReason,
      );
    },

    async close() {
      const current = http;
      http = undefined;
      await current?.close();
    },
  };
}
