import { readFile } from 'node:fs/promises';
import type { TestCertificates } from './certificates.js';
import { onPath, startMongoTestServer } from './mongo-test-server.js';

/** A MongoDB that speaks TLS only, and the `tls` option of a client that trusts it. */
export interface TlsTestMongo {
  /** Without `tls=true`: the client's `tls` option turns TLS on. */
  readonly url: string;
  readonly kind: 'MONGO_TLS_URL' | 'test server';
  readonly tls: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string };
  /** The server refuses clients without a certificate its CA signed. */
  readonly asksClientCertificate: boolean;
  close(): Promise<void>;
}

/**
 * Why the TLS tests do not run, or undefined when they do: the MongoDB of the
 * run is a real one without TLS. Which one it is: FERRY_TEST_MONGO_KIND where a
 * globalSetup started it (and set MONGO_URL), else what `startTestMongo` would pick.
 */
export function tlsTestMongoSkipReason(): string | undefined {
  if (process.env.MONGO_TLS_URL) return undefined;
  const kind =
    process.env.FERRY_TEST_MONGO_KIND ??
    (process.env.MONGO_URL ? 'MONGO_URL' : onPath('mongod') !== undefined ? 'mongod' : 'test server');
  if (kind === 'test server') return undefined;
  return (
    'the MongoDB of this run (MONGO_URL or a mongod on PATH) speaks no TLS: set MONGO_TLS_URL and MONGO_TLS_CA_FILE ' +
    '(and MONGO_TLS_CERT_FILE, MONGO_TLS_KEY_FILE for a server that asks for client certificates) to run them against it'
  );
}

function fromEnvironment(url: string): TlsTestMongo {
  const caFile = process.env.MONGO_TLS_CA_FILE;
  if (!caFile) throw new Error('MONGO_TLS_URL is set without MONGO_TLS_CA_FILE, the CA its certificate is signed by');
  const certFile = process.env.MONGO_TLS_CERT_FILE || undefined;
  const keyFile = process.env.MONGO_TLS_KEY_FILE || undefined;
  return {
    url,
    kind: 'MONGO_TLS_URL',
    tls: { caFile, ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) },
    asksClientCertificate: certFile !== undefined,
    close: async () => undefined,
  };
}

/**
 * The MongoDB of the TLS tests: MONGO_TLS_URL when given (a real server, left
 * alone, trusted through MONGO_TLS_CA_FILE); else the in-repo test server in
 * TLS mode with `certs`' server certificate, asking for client certificates
 * when `clientCertificates` is set. See `tlsTestMongoSkipReason` for when neither.
 */
export async function startTlsTestMongo(
  certs: TestCertificates,
  options: { readonly clientCertificates?: boolean } = {},
): Promise<TlsTestMongo> {
  const given = process.env.MONGO_TLS_URL;
  if (given) return fromEnvironment(given);
  const asked = options.clientCertificates === true;
  const server = await startMongoTestServer({
    tls: {
      cert: await readFile(certs.serverCertFile, 'utf8'),
      key: await readFile(certs.serverKeyFile, 'utf8'),
      ...(asked ? { ca: certs.ca } : {}),
    },
  });
  return {
    url: server.url.replace('/?tls=true', ''),
    kind: 'test server',
    tls: { caFile: certs.caFile, ...(asked ? { certFile: certs.clientCertFile, keyFile: certs.clientKeyFile } : {}) },
    asksClientCertificate: asked,
    close: () => server.close(),
  };
}
