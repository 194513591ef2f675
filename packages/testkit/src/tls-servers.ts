import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCertificates } from './certificates.js';
import { unusedPort } from './net.js';
import { startServerProcess, type TestServerProcess } from './server-process.js';

/** Whether the server asks for a client certificate: `yes` refuses a client without one. */
export type ClientCertificates = 'optional' | 'yes';

/**
 * A redis-server of its own with only a TLS port, on the certificates of
 * `certs` (Debian's build has TLS): `rediss://127.0.0.1:<port>`.
 */
export async function startTlsRedis(
  certs: TestCertificates,
  clients: ClientCertificates = 'optional',
): Promise<TestServerProcess> {
  const port = await unusedPort();
  return startServerProcess({
    name: 'redis-server (TLS)',
    command: 'redis-server',
    args: [
      ...['--bind', '127.0.0.1', '--port', '0', '--tls-port', String(port)],
      ...['--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile],
      ...['--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', clients],
      ...['--save', '', '--appendonly', 'no', '--dir', certs.dir],
    ],
    port,
    log: join(certs.dir, `redis-${port}.log`),
  });
}

/**
 * A nats-server of its own with JetStream, TLS required (`verify`: a client
 * certificate too), its store beside the certificates.
 */
export async function startTlsNats(
  certs: TestCertificates,
  clients: ClientCertificates = 'optional',
): Promise<TestServerProcess> {
  const port = await unusedPort();
  const dir = join(certs.dir, `nats-${port}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'nats.conf');
  await writeFile(
    config,
    `listen: "127.0.0.1:${port}"
jetstream { store_dir: ${JSON.stringify(dir)}, max_memory_store: 64MB, max_file_store: 256MB }
tls {
  cert_file: ${JSON.stringify(certs.serverCertFile)}
  key_file: ${JSON.stringify(certs.serverKeyFile)}
  ca_file: ${JSON.stringify(certs.caFile)}
  verify: ${clients === 'yes'}
  timeout: 3
}
`,
  );
  return startServerProcess({
    name: 'nats-server (TLS)',
    command: 'nats-server',
    args: ['-c', config],
    port,
    log: join(dir, 'nats-server.log'),
  });
}
