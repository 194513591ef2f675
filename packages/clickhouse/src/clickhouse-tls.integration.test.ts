import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { ConfigError, FatalError, type FerryRecord } from '@ferry/core';
import { makeTestCertificates, sampleRecords, type TestCertificates } from '@ferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseSink, createClickHouseSource } from './index.js';
import { tableName } from './test-admin.js';

/** The HTTPS port `scripts/services.sh` gives the test server, and the certificates it made for it. */
const httpsUrl =
  process.env.CLICKHOUSE_HTTPS_URL ?? `https://127.0.0.1:${process.env.FERRY_CLICKHOUSE_HTTPS_PORT || 18443}`;
const tlsDir =
  process.env.CLICKHOUSE_TLS_DIR ?? join(process.env.FERRY_CLICKHOUSE_DIR ?? join(tmpdir(), 'ferry-clickhouse'), 'tls');
/** The server asks every client for a certificate its CA signed (verificationMode strict). */
const trusted = {
  caFile: join(tlsDir, 'ca.crt'),
  certFile: join(tlsDir, 'client.crt'),
  keyFile: join(tlsDir, 'client.key'),
};

let admin: ClickHouseClient;
let strangers: TestCertificates;
let strangersDir: string;
const table = tableName('ferry_test_tls');

beforeAll(async () => {
  await access(trusted.caFile).catch((error: unknown) => {
    throw new Error(
      `no certificates of the ClickHouse HTTPS port in ${tlsDir}: run \`bash scripts/services.sh ensure_clickhouse\` (restarting a server started without https_port), or set CLICKHOUSE_HTTPS_URL and CLICKHOUSE_TLS_DIR`,
      { cause: error },
    );
  });
  const read = (file: string) => readFile(file, 'utf8');
  // The test's own client over the same TLS: what it reads back is what the server holds.
  const agent = new Agent({
    ca: await read(trusted.caFile),
    cert: await read(trusted.certFile),
    key: await read(trusted.keyFile),
  });
  admin = createClient({ url: httpsUrl, http_agent: agent, log: { level: ClickHouseLogLevel.OFF } });
  strangersDir = await mkdtemp(join(tmpdir(), 'ferry-clickhouse-tls-'));
  strangers = await makeTestCertificates(strangersDir);
}, 30_000);
afterAll(async () => {
  await admin?.command({ query: `DROP TABLE IF EXISTS default.\`${table}\`` });
  await admin
    ?.command({ query: `ALTER TABLE default.ferry_checkpoints DELETE WHERE key = 'default.${table}'` })
    .catch(() => undefined);
  await admin?.close();
  await rm(strangersDir, { recursive: true, force: true });
});

const options = (tls: Record<string, unknown>) => ({ url: httpsUrl, table, connectionName: 'secure', tls });

/** The n, tag and text of sample records: one row each in the test's table. */
const records: FerryRecord[] = sampleRecords(5, 'tls').map((record) => {
  const { n, tag, text } = record.value;
  return { ...record, value: { n, tag, text } } as FerryRecord;
});

/** What opening a sink with this tls option throws. */
async function openError(tls: Record<string, unknown>): Promise<unknown> {
  const sink = createClickHouseSink(options(tls));
  try {
    await sink.open();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await sink.close();
  }
}

describe('clickhouse over TLS (https_port)', () => {
  it('writes rows through the sink and reads them through the source, with a client certificate', async () => {
    const sink = createClickHouseSink({
      ...options(trusted),
      create: {
        columns: { n: 'UInt64', tag: 'String', text: 'String', _source_id: 'String' },
        engine: 'MergeTree ORDER BY n',
      },
    });
    await sink.open();
    await sink.write(records);
    await sink.close();
    const stored = await admin.query({
      query: `SELECT _source_id, toString(n) AS n, tag, text FROM default.\`${table}\` ORDER BY n`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual(
      records.map(({ id, value }) => ({ _source_id: id, n: String(value.n), tag: value.tag, text: value.text })),
    );
    const source = createClickHouseSource({ ...options(trusted), cursor: 'n', columns: ['n', 'tag', 'text'] });
    await source.open();
    const batch = await source.read(100, { waitMs: 0 });
    await source.close();
    expect(batch.records.map((record) => record.value)).toEqual(records.map((record) => record.value));
  });

  it('refuses a server whose certificate another CA signed, naming the connection and the certificate', async () => {
    const error = await openError({ ...trusted, caFile: strangers.strangerCaFile });
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^\\[clickhouse\\] TLS with the server at ${new URL(httpsUrl).host.replace(/\./g, '\\.')} \\(connection "secure"\\) failed: the server's certificate is not signed by a CA this connection trusts \\(.+\\): give that CA as tls\\.ca or tls\\.caFile`,
      ),
    );
  });

  it('names a tls file it cannot read, when the flow opens', async () => {
    const error = await openError({ ...trusted, keyFile: join(strangersDir, 'missing.key') });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^\[ferry\] clickhouse .* \(connection "secure"\): tls\.keyFile ".*missing\.key" cannot be read \(ENOENT\)$/,
    );
  });

  it('says what is missing when the server asks for a client certificate and gets none', async () => {
    const error = await openError({ caFile: trusted.caFile });
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      /\(connection "secure"\) failed: the server refused the client certificate or wants one \(.+\): give tls\.cert and tls\.key/,
    );
  });
});
