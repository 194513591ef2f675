import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { FatalError } from '@ferry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { chdbHolder, openChdb } from './clickhouse-chdb.js';
import { onChdb } from './test-admin.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function directory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-chdb-owner-'));
  made.push(dir);
  return dir;
}

/** Another process that opens `dir`, says `open`, holds it for `ms`, then closes it and lives on a little. */
function holder(dir: string, ms: number) {
  const script = `
    const { createChdbConnection } = require('chdb/connection');
    const connection = createChdbConnection({ path: process.argv[1] });
    process.stdout.write('open\\n');
    setTimeout(async () => { await connection.close(); setTimeout(() => {}, 2000); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', script, dir], { cwd: packageDir, stdio: ['ignore', 'pipe', 'ignore'] });
  const opened = once(child.stdout, 'data');
  return { child, opened };
}

describe('the process that holds a chDB directory', () => {
  it('is read from the status file while it runs; a leftover of a process that ended holds nothing', async () => {
    const dir = directory();
    expect(chdbHolder(dir)).toBeUndefined();
    const ended = spawn(process.execPath, ['-e', '']);
    await once(ended, 'exit');
    writeFileSync(join(dir, 'status'), `PID: ${ended.pid}\nStarted at: 2026-12-04 04:00:00\nRevision: 54513\n`);
    expect(chdbHolder(dir)).toBeUndefined();
    writeFileSync(join(dir, 'status'), `PID: ${process.pid}\n`);
    expect(chdbHolder(dir)).toBeUndefined();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'status'), `PID: ${process.ppid}\n`);
    expect(chdbHolder(join(dir, 'sub'))).toBe(process.ppid);
  });

  it('a leftover naming a pid that a later process took holds nothing', async () => {
    const dir = directory();
    const later = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      writeFileSync(join(dir, 'status'), `PID: ${later.pid}\n`);
      expect(chdbHolder(dir)).toBe(later.pid);
      // Written an hour before that process started: another process, now gone, wrote it.
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(join(dir, 'status'), hourAgo, hourAgo);
      expect(chdbHolder(dir)).toBeUndefined();
    } finally {
      later.kill();
    }
  });
});

// Opens a directory of its own in this process: on chDB's project only, where nothing else here opened one.
describe.runIf(onChdb)('one process at a time on a chDB directory', () => {
  it('refuses a directory another process holds, naming it, and waits for it to be let go when asked to', async () => {
    const dir = directory();
    const { child, opened } = holder(dir, 1500);
    try {
      await opened;
      const refused = openChdb(dir);
      await expect(refused).rejects.toThrow(FatalError);
      await expect(refused).rejects.toThrow(
        `[clickhouse] the embedded ClickHouse in ${dir} is open in another process (pid ${child.pid}): one process at a time owns a chDB directory (stop the other process, or give each process a directory of its own)`,
      );
      const connection = await openChdb(dir, { waitMs: 10_000 });
      const client = createClient({ connection: connection as never, log: { level: ClickHouseLogLevel.OFF } });
      const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      expect(await result.json()).toEqual([{ v: expect.stringMatching(/^26\./) }]);
      await client.close();
    } finally {
      child.kill();
    }
  });
});
