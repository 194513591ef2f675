import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, startTlsRedis, type TestCertificates, type TestServerProcess } from '@ferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { ferry } from './support/cli.js';

const token = 'test-token-tls';
let certs: TestCertificates;
let redis: TestServerProcess;
/** Refuses a client without a certificate. */
let strict: TestServerProcess;
let admin: Redis;
const processes: FerryProcess[] = [];

const url = () => `rediss://127.0.0.1:${redis.port}`;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-e2e-tls-')));
  [redis, strict] = await Promise.all([startTlsRedis(certs), startTlsRedis(certs, 'yes')]);
  admin = new Redis(url(), { tls: { ca: certs.ca } });
}, 30_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  admin?.disconnect();
  await Promise.all([redis?.stop(), strict?.stop()]);
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});

describe('ferry serve on a control store over TLS', () => {
  it('runs /s2s/ jobs through a rediss:// control store, its CA from FERRY_REDIS_CA_FILE', async () => {
    const env = { FERRY_API_TOKEN: token, FERRY_REDIS_CA_FILE: certs.caFile };
    const server = await startFerry('serve', ['--redis', url(), '--prefix', uniquePrefix('tls')], env);
    processes.push(server);
    for (let n = 0; n < 5; n++) await admin.xadd('tls.in', '*', 'n', String(n));
    const api = apiClient(server.url, token);
    const res = await api.post('/s2s/', {
      target_q_max_len: 1000,
      source_read_batch_num: 2,
      target_write_batch_num: 2,
      source_redis_agent_host: 'http://127.0.0.1:24021/',
      source_connection_hash: null,
      target_redis_agent_host: 'http://127.0.0.1:24021/',
      target_connection_hash: null,
      source_stream: 'tls.in',
      target_stream: 'tls.out',
      max_exec_cnt: 100,
    });
    expect(res.status).toBe(200);
    const job = await api.waitFor(await res.text());
    expect(job).toMatchObject({ state: 'completed', result: { records: 5 } });
    expect(await admin.xlen('tls.out')).toBe(5);
    expect(await admin.xlen('tls.in')).toBe(0);
  });

  it('refuses a control store whose certificate no trusted CA signed, and says so', async () => {
    const env = { FERRY_API_TOKEN: token, FERRY_REDIS_CA_FILE: certs.strangerCaFile };
    const run = await ferry(['serve', '--port', '0', '--redis', url()], { env, timeoutMs: 15_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `[ferry] the control store ${url()} cannot be reached over TLS: the server's certificate is not signed by a CA this connection trusts`,
    );
  });

  it('shows the client certificate of FERRY_REDIS_CERT_FILE and FERRY_REDIS_KEY_FILE to a store that asks for one', async () => {
    const env = {
      FERRY_API_TOKEN: token,
      FERRY_REDIS_CA_FILE: certs.caFile,
      FERRY_REDIS_CERT_FILE: certs.clientCertFile,
      FERRY_REDIS_KEY_FILE: certs.clientKeyFile,
    };
    const store = `rediss://127.0.0.1:${strict.port}`;
    const server = await startFerry('api', ['--redis', store, '--prefix', uniquePrefix('tls')], env);
    processes.push(server);
    const res = await apiClient(server.url, token).get('/jobs');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jobs: [] });
  });
});
