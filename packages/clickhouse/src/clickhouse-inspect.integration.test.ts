import type { Inspector } from '@ferry/core';
import { tcpRelay, unusedPort } from '@ferry/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { clickHouseConnector } from './index.js';
import { clickHouseUrl, closeAdmin, count, drop, exec, onChdb, rows, tableName } from './test-admin.js';

const inspectors: Inspector[] = [];
const tables: string[] = [];
const settings = { timeoutMs: 3000, clientName: 'ferry:inspect-test' };

const inspector = (connection: Record<string, unknown> = {}): Inspector => {
  const opened = clickHouseConnector.inspect!({ kind: 'clickhouse', url: clickHouseUrl, ...connection }, settings);
  inspectors.push(opened);
  return opened;
};
const table = async (): Promise<string> => {
  const name = tableName('ferry_test_inspect');
  tables.push(name);
  await exec(`CREATE TABLE default.${name} (n UInt64, _source_id String) ENGINE = MergeTree ORDER BY n`);
  return name;
};
/** The test server's URL with its host and port changed. */
const at = (host: string): string => {
  const url = new URL(clickHouseUrl);
  url.host = host;
  return url.toString();
};

afterAll(async () => {
  await Promise.all(inspectors.map((i) => i.close()));
  for (const name of tables) await drop(name);
  await closeAdmin();
});

describe('clickhouse inspect', () => {
  it('probes the server: its version, from a query that needs the credentials', async () => {
    const [{ version }] = (await rows<{ version: string }>('SELECT version() AS version')) as [{ version: string }];
    // The embedded engine is a current release; the server, the oldest ferry supports.
    expect(version).toMatch(onChdb ? /^26\.7\./ : /^18\.16\./);
    const probe = inspector();
    expect(await probe.probe()).toEqual({ version, detail: 'reachable, query answered' });
    expect(probe.latest).toBeUndefined();
  });

  // Users and ports are the server's: an embedded ClickHouse has neither.
  it.skipIf(onChdb)(
    'says credentials refused for a wrong password or user, in the URL or apart, unreachable for a port nothing listens on (server only: users and a network)',
    async () => {
      await expect(inspector({ username: 'default', password: 'wrong' }).probe()).rejects.toThrow(
        /^credentials refused: (Wrong password for user default|default: Authentication failed)/,
      );
      const stranger = new URL(clickHouseUrl);
      stranger.username = 'ferry_nobody';
      stranger.password = 's3cret';
      const refused = await inspector({ url: stranger.toString() })
        .probe()
        .catch((error: Error) => error);
      expect((refused as Error).message).toMatch(
        /^credentials refused: (Unknown user ferry_nobody|.*Authentication failed)/,
      );
      expect((refused as Error).message).not.toContain('s3cret');
      await expect(inspector({ url: at(`127.0.0.1:${await unusedPort()}`) }).probe()).rejects.toThrow(
        /^unreachable: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
      );
    },
  );

  it.skipIf(onChdb)(
    'answers once the server is there: nothing of a failed question is kept (server only: a network)',
    async () => {
      const port = await unusedPort();
      const probe = inspector({ url: at(`127.0.0.1:${port}`) });
      await expect(probe.probe()).rejects.toThrow(/^unreachable: /);
      const server = new URL(clickHouseUrl);
      const relay = await tcpRelay(port, Number(server.port || 8123), server.hostname);
      try {
        expect((await probe.probe()).detail).toBe('reachable, query answered');
      } finally {
        await probe.close();
        await relay.close();
      }
    },
  );

  it("counts a table's rows, for a source's options or a sink's", async () => {
    const name = await table();
    await exec(`INSERT INTO default.${name} (n, _source_id) VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d')`);
    expect(await count(name)).toBe(4);
    const probe = inspector();
    expect(await probe.depth({ kind: 'clickhouse', url: clickHouseUrl, table: name, cursor: 'n', mode: 'move' })).toBe(
      4,
    );
    expect(await probe.depth({ url: clickHouseUrl, database: 'default', table: name, maxRows: 100 })).toBe(4);
  });

  it('says when the table is not there, in the server words', async () => {
    const missing = `${tableName('ferry_test_inspect')}_missing`;
    await expect(inspector().depth({ url: clickHouseUrl, table: missing })).rejects.toThrow(
      // 18.16's words, then a current release's.
      new RegExp(
        `^(Table default\\.${missing} doesn't exist|Unknown table expression identifier 'default\\.${missing}')`,
      ),
    );
    await expect(inspector().depth({ url: clickHouseUrl, table: 'not-a-name' })).rejects.toThrow(
      /invalid source options[\s\S]*not a valid table name/,
    );
  });
});
