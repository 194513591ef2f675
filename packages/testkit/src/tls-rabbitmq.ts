import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCertificates } from './certificates.js';
import { unusedPort } from './net.js';
import { startServerProcess, type TestServerProcess } from './server-process.js';

/** The broker's own start script: the one in /usr/sbin would switch to the rabbitmq user, who cannot read our files. */
function serverScript(): string {
  const packaged = '/usr/lib/rabbitmq/bin/rabbitmq-server';
  return existsSync(packaged) ? packaged : 'rabbitmq-server';
}

function brokerConfig(certs: TestCertificates, port: number): string {
  return `listeners.tcp = none
listeners.ssl.default = 127.0.0.1:${port}
ssl_options.cacertfile = ${certs.caFile}
ssl_options.certfile = ${certs.serverCertFile}
ssl_options.keyfile = ${certs.serverKeyFile}
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
disk_free_limit.absolute = 50MB
log.file = rabbit.log
log.console = false
`;
}

/**
 * A second RabbitMQ node beside the running broker, with its own name, data,
 * ports and config, and one listener: AMQP over TLS, asking for a client
 * certificate (verified against `certs`' CA when given). guest/guest on
 * `amqps://127.0.0.1:<port>`. An Erlang VM boots for a while: start one per
 * test file and share it.
 */
export async function startTlsRabbitMq(certs: TestCertificates): Promise<TestServerProcess> {
  const port = await unusedPort();
  const dir = join(certs.dir, `rabbitmq-${port}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'rabbitmq.conf'), brokerConfig(certs, port));
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  // Read in place of /etc/rabbitmq/rabbitmq-env.conf, which names the running broker's node.
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  return startServerProcess({
    name: 'rabbitmq-server (TLS)',
    command: serverScript(),
    args: [],
    port,
    log: join(dir, 'rabbitmq-server.out'),
    readyWithinMs: 90_000,
    env: {
      HOME: dir,
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: `ferry-tls-${port}@localhost`,
      RABBITMQ_DIST_PORT: String(await unusedPort()),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: dir,
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    },
  });
}
