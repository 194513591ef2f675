import { isAbsolute } from 'node:path';
import type { ClickHouseClientConfigOptions } from '@clickhouse/client';
import { ConfigError, FatalError } from '@ferry/core';

/** A backend connection of `@clickhouse/client` (its `connection` option): chDB's, or one a user made. */
export type ClickHouseConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;

/** What ferry uses of the optional `chdb` package. */
interface ChdbModule {
  createChdbConnection(options: { path: string }): ClickHouseConnection;
}

/** The directory of a `chdb:///abs/dir` URL; a host, a relative path or a query is a ConfigError naming the URL. */
export function chdbDirectory(url: string): string {
  const parsed = new URL(url);
  const path = decodeURIComponent(parsed.pathname);
  if (parsed.host !== '' || !isAbsolute(path) || path === '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(
      `[clickhouse] url ${JSON.stringify(url)}: an embedded ClickHouse is named by its directory, as chdb:///var/lib/ferry/chdb`,
    );
  }
  return path.replace(/\/+$/, '');
}

async function loadChdb(): Promise<ChdbModule> {
  try {
    return (await import('chdb/connection')) as unknown as ChdbModule;
  } catch (error) {
    throw new ConfigError(
      '[clickhouse] a chdb:// url needs the optional package chdb (an embedded ClickHouse, about 550 MB): npm install chdb',
      { cause: error },
    );
  }
}

/**
 * A connection to the embedded ClickHouse in `directory`. chDB runs one data
 * directory per process, and locks it against other processes: both refusals
 * become a FatalError that says which directory and why.
 */
export async function openChdb(directory: string): Promise<ClickHouseConnection> {
  const { createChdbConnection } = await loadChdb();
  try {
    return createChdbConnection({ path: directory });
  } catch (error) {
    const text = describe(error);
    if (/another server instance|cannot lock file/i.test(text)) {
      throw new FatalError(
        `[clickhouse] the embedded ClickHouse in ${directory} is open in another process: one process at a time owns a chDB directory (stop the other ferry, or give this flow its own directory)`,
        { cause: error },
      );
    }
    if (/only one active data directory/i.test(text)) {
      throw new FatalError(
        `[clickhouse] this process already has another embedded ClickHouse open, and chDB runs one directory per process: ${text}`,
        { cause: error },
      );
    }
    throw new FatalError(`[clickhouse] cannot open the embedded ClickHouse in ${directory}: ${text}`, {
      cause: error,
    });
  }
}

/** The error's text and its causes', where chDB keeps the engine's reason. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let at: unknown = error; at instanceof Error && parts.length < 4; at = at.cause) parts.push(at.message);
  return parts.join(': ');
}
