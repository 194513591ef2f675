import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { openChdb } from '@ferry/clickhouse/testing';
import { clickHouseUrl } from './world.js';

/**
 * A ClickHouse that the C edges run against: the 18.16 server over HTTP, or
 * ClickHouse 26 embedded (chDB) in a directory of the test's own. An embedded
 * one belongs to one process at a time: the test opens it only inside `use`
 * and closes it after, so that the `ferry` it runs next can own it.
 */
export interface ClickHouseTarget {
  /** `ClickHouse 18.16 (server)`, `ClickHouse 26 (chDB)`: for test names. */
  readonly name: string;
  readonly embedded: boolean;
  /** The url a config file gives ferry. */
  readonly url: string;
  /** The directory of an embedded one. */
  readonly directory?: string;
  /** The test's own driver client for `work`; an embedded one is closed after it. */
  use<T>(work: (ch: ClickHouseClient) => Promise<T>): Promise<T>;
  command(query: string): Promise<void>;
  /** Rows as JSON, as 18.16 writes them on every version: 64-bit integers as text, decimals with their trailing zeros. */
  select<T>(query: string): Promise<T[]>;
  /** Rows as TabSeparated text cells: every value in the server's own text (18.16's JSON has decimals as bare numbers). */
  tsv(query: string): Promise<string[][]>;
  /** A MergeTree table of its own in `default`, dropped (or its directory removed) after the file. */
  table(label: string, columns: string, orderBy: string): Promise<string>;
  close(): Promise<void>;
}

const run = `${process.pid}_${randomBytes(3).toString('hex')}`;

function target(
  name: string,
  url: string,
  open: () => ClickHouseClient | Promise<ClickHouseClient>,
  directory?: string,
): ClickHouseTarget {
  const embedded = directory !== undefined;
  const tables: string[] = [];
  let kept: ClickHouseClient | undefined;
  const use = async <T>(work: (ch: ClickHouseClient) => Promise<T>): Promise<T> => {
    if (!embedded) {
      kept ??= await open();
      return work(kept);
    }
    const ch = await open();
    try {
      return await work(ch);
    } finally {
      await ch.close();
    }
  };
  const command = (query: string) => use(async (ch) => void (await ch.command({ query })));
  return {
    name,
    embedded,
    url,
    ...(directory === undefined ? {} : { directory }),
    use,
    command,
    select: <T>(query: string) =>
      use(async (ch) =>
        (
          await ch.query({
            query,
            format: 'JSONEachRow',
            clickhouse_settings: {
              output_format_json_quote_64bit_integers: 1,
              // Settings 18.16 does not know (it always writes decimals so).
              ...(embedded ? { output_format_json_quote_decimals: 1, output_format_decimal_trailing_zeros: 1 } : {}),
            },
          })
        ).json<T>(),
      ),
    tsv: (query: string) =>
      use(async (ch) => {
        const result = await ch.query({
          query,
          format: 'TabSeparated',
          ...(embedded ? { clickhouse_settings: { output_format_decimal_trailing_zeros: 1 } } : {}),
        });
        const text = await result.text();
        return text === ''
          ? []
          : text
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => line.split('\t'));
      }),
    async table(label, columns, orderBy) {
      const table = `ferry_e2e_${run}_${label}`;
      tables.push(table);
      await command(`CREATE TABLE default.\`${table}\` (${columns}) ENGINE = MergeTree ORDER BY ${orderBy}`);
      return table;
    },
    async close() {
      if (directory !== undefined) {
        rmSync(directory, { recursive: true, force: true });
        return;
      }
      for (const table of tables) await command(`DROP TABLE IF EXISTS default.\`${table}\``);
      await kept?.close();
    },
  };
}

/** The 18.16 server the services script starts. */
export function serverTarget(): ClickHouseTarget {
  return target('ClickHouse 18.16 (server)', clickHouseUrl, () =>
    createClient({ url: clickHouseUrl, log: { level: ClickHouseLogLevel.OFF } }),
  );
}

/** ClickHouse 26 embedded in a fresh directory under the system's temp dir. */
export function chdbTarget(): ClickHouseTarget {
  const directory = mkdtempSync(join(tmpdir(), 'ferry-e2e-chdb-'));
  return target(
    'ClickHouse 26 (chDB)',
    `chdb://${directory}`,
    // The connector's own way in: chdb is the ClickHouse package's dependency, not this one's.
    async () => createClient({ connection: await openChdb(directory), log: { level: ClickHouseLogLevel.OFF } }),
    directory,
  );
}

/** Both, the server first. */
export function clickHouseTargets(): ClickHouseTarget[] {
  return [serverTarget(), chdbTarget()];
}

/** The process holding an embedded ClickHouse's directory, as its `status` file names it while open. */
export function chdbHolderPid(directory: string): number | undefined {
  const status = join(directory, 'status');
  if (!existsSync(status)) return undefined;
  const pid = /^PID: (\d+)$/m.exec(readFileSync(status, 'utf8'))?.[1];
  return pid === undefined ? undefined : Number(pid);
}
