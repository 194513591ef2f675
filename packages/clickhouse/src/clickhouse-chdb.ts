import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClientConfigOptions } from '@clickhouse/client';
import { ConfigError, FatalError } from '@ferry/core';

/** A backend connection of `@clickhouse/client` (its `connection` option): chDB's, or one a user made. */
export type ClickHouseConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;

/** What ferry uses of the optional `chdb` package. */
interface ChdbModule {
  createChdbConnection(options: { path: string }): ClickHouseConnection;
}

const example = 'chdb:///var/lib/ferry/chdb';

/**
 * What is wrong with a `chdb:` URL (the caller names the URL); undefined when
 * it names an absolute directory and nothing else (no host, user, query or fragment).
 */
export function chdbUrlProblem(url: string): string | undefined {
  // Userinfo before an empty host is no URL to the parser: told apart first.
  if (/^chdb:\/\/[^/]*@/i.test(url)) {
    return `has a user or password: an embedded ClickHouse has no users, name its directory alone, as ${example}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: an embedded ClickHouse is named by its directory, as ${example}`;
  }
  if (parsed.host !== '') {
    return `names a host ("${parsed.host}"): an embedded ClickHouse runs in this process and is named by its absolute directory alone, three slashes, as ${example}`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return `has a user or password: an embedded ClickHouse has no users, name its directory alone, as ${example}`;
  }
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return `its path is not valid percent-encoding: write the directory as it is, as ${example}`;
  }
  if (!isAbsolute(path) || !/^chdb:\/\/\/(?!\/)/i.test(url)) {
    return `not an absolute directory: write chdb:// and the absolute path (three slashes), as ${example}`;
  }
  if (path.replace(/\/+$/, '') === '') {
    return `names the root directory: give the directory ClickHouse keeps its data in, as ${example}`;
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    return `has a query or fragment: an embedded ClickHouse takes its directory alone, as ${example}`;
  }
  return undefined;
}

/** The directory of a `chdb:///abs/dir` URL; any other shape is a ConfigError naming the URL. */
export function chdbDirectory(url: string): string {
  const problem = chdbUrlProblem(url);
  if (problem !== undefined) throw new ConfigError(`[clickhouse] url ${JSON.stringify(url)}: ${problem}`);
  // One spelling per directory: `/tmp//x/` and `/tmp/x` are the same engine.
  return normalize(decodeURIComponent(new URL(url).pathname)).replace(/\/+$/, '');
}

/** Whether the optional package is there to be loaded: asked when options are checked, before anything opens. */
export function chdbInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('chdb/connection');
    return true;
  } catch {
    return false;
  }
}

/** Why a `chdb:` url cannot be used, from its shape or from a missing package; undefined when it can. */
export function chdbUnusable(url: string): string | undefined {
  return (
    chdbUrlProblem(url) ??
    (chdbInstalled()
      ? undefined
      : 'needs the optional package chdb (an embedded ClickHouse, about 550 MB), which is not installed: npm install chdb')
  );
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
 * The process that holds `directory`, as the engine's `status` file names it
 * while a process has it open (the file goes when it closes it); undefined
 * when that is this process, or a process no longer running (a crash's leftover).
 */
export function chdbHolder(directory: string): number | undefined {
  const status = join(directory, 'status');
  let text: string;
  let written: number;
  try {
    text = readFileSync(status, 'utf8');
    written = statSync(status).mtimeMs;
  } catch {
    return undefined;
  }
  const pid = Number(/^PID: (\d+)$/m.exec(text)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: running, under another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return startedAfter(pid, written) ? undefined : pid;
}

/** A process that started after the status file was written did not write it: its pid was reused (Linux's /proc says when). */
function startedAfter(pid: number, writtenMs: number): boolean {
  try {
    return statSync(`/proc/${pid}`).ctimeMs > writtenMs + 1000;
  } catch {
    return false;
  }
}

/** No cause kept: chDB's own words ("Failed to create connection") say less, and a probe shows the deepest cause. */
function heldElsewhere(directory: string, pid: number | undefined): FatalError {
  const by = pid === undefined ? 'another process' : `another process (pid ${pid})`;
  return new FatalError(
    `[clickhouse] the embedded ClickHouse in ${directory} is open in ${by}: one process at a time owns a chDB directory (stop the other process, or give each process a directory of its own)`,
  );
}

export interface OpenChdbOptions {
  /** How long to wait for another process to let the directory go (a dashboard's count, a `ferry doctor`); 0: not at all. */
  readonly waitMs?: number;
  /** Refuse a directory that does not exist rather than make it (a question asks of what is there). */
  readonly mustExist?: boolean;
}

/**
 * A connection to the embedded ClickHouse in `directory`. chDB runs one data
 * directory per process, and locks it against other processes; in one process,
 * every connection to the same directory shares its engine. Both refusals
 * become a FatalError that says which directory and why.
 */
export async function openChdb(directory: string, options: OpenChdbOptions = {}): Promise<ClickHouseConnection> {
  const { createChdbConnection } = await loadChdb();
  if (options.mustExist && !existsSync(directory)) {
    throw new FatalError(`[clickhouse] there is no embedded ClickHouse in ${directory}: the directory does not exist`);
  }
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    // Asked before chDB tries: its own refusal is a line on stderr and a message without the reason.
    const holder = chdbHolder(directory);
    if (holder !== undefined) {
      if (Date.now() >= deadline) throw heldElsewhere(directory, holder);
      await sleep(100);
      continue;
    }
    try {
      return createChdbConnection({ path: directory });
    } catch (error) {
      const text = describe(error);
      const locked = /another server instance|cannot lock file|failed to create connection/i.test(text);
      // Two processes that start together: the other one may not have written its status file yet.
      if (locked && Date.now() < deadline) {
        await sleep(250);
        continue;
      }
      throw refusal(directory, error, text, locked);
    }
  }
}

/** chDB's refusal in words that name the directory and why. */
function refusal(directory: string, error: unknown, text: string, locked: boolean): FatalError {
  const holder = chdbHolder(directory);
  if (holder !== undefined || /another server instance|cannot lock file/i.test(text)) {
    return heldElsewhere(directory, holder);
  }
  if (/only one active data directory/i.test(text)) {
    return new FatalError(
      `[clickhouse] this process already has another embedded ClickHouse open, and chDB runs one directory per process: ${text}`,
      { cause: error },
    );
  }
  const why = locked
    ? ' (another process may hold it: chDB wrote its reason to stderr; or the path is not a directory this user can write)'
    : '';
  return new FatalError(`[clickhouse] cannot open the embedded ClickHouse in ${directory}: ${text}${why}`, {
    cause: error,
  });
}

/** The error's text and its causes', where chDB keeps the engine's reason. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let at: unknown = error; at instanceof Error && parts.length < 4; at = at.cause) {
    if (!parts.includes(at.message)) parts.push(at.message);
  }
  return parts.join(': ');
}
