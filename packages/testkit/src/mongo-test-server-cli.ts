#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startMongoTestServer } from './mongo-test-server.js';

const usage =
  'usage: mongo-test-server [--port 27017] [--host 127.0.0.1] [--tls-cert <pem file> --tls-key <pem file> [--tls-ca <pem file>]]\n' +
  '  --tls-cert, --tls-key: speak TLS only, with this certificate and key\n' +
  '  --tls-ca: also ask clients for a certificate this CA signed, and refuse those without';

type TlsFiles = { 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string };

/** The server's TLS settings from the files named, or a reason they do not go together. */
function tlsOf(files: TlsFiles): { cert: string; key: string; ca?: string } | string | undefined {
  const { 'tls-cert': cert, 'tls-key': key, 'tls-ca': ca } = files;
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (cert === undefined || key === undefined) return '--tls-cert and --tls-key go together (and --tls-ca needs both)';
  const read = (file: string) => readFileSync(file, 'utf8');
  return { cert: read(cert), key: read(key), ...(ca === undefined ? {} : { ca: read(ca) }) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      host: { type: 'string', default: '127.0.0.1' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`mongo-test-server: --port must be a port number (got ${values.port})\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const tls = tlsOf(values);
  if (typeof tls === 'string') {
    console.error(`mongo-test-server: ${tls}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const server = await startMongoTestServer({ port, host: values.host, ...(tls === undefined ? {} : { tls }) });
  console.log(`MongoDB test server listening at ${server.url}`);
  console.log(
    "This is ferry's test stand-in, not MongoDB: it keeps data in memory only, loses it on exit, and is not for data anyone cares about.",
  );
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`mongo-test-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
