import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files (paths and texts) of a throwaway CA, a server and a client it signed, and a stranger. */
export interface TestCertificates {
  readonly dir: string;
  /** The CA that signed `server` and `client`: what a client trusts. */
  readonly caFile: string;
  readonly ca: string;
  /** For 127.0.0.1 and localhost. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A client certificate (CN ferry-client) for servers that ask for one. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing here: trusting it alone, a client must refuse the server. */
  readonly strangerCaFile: string;
  readonly strangerCa: string;
}

const days = ['-days', '2'];
const rsa = ['-newkey', 'rsa:2048', '-nodes'];

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    ...rsa,
    ...days,
    '-subj',
    `/CN=ferry test ${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function makeSigned(dir: string, name: string, extensions: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['req', ...rsa, '-subj', `/CN=ferry-${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    ...days,
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
}

/**
 * Makes the certificates of a TLS test in `dir` with `openssl` (about a
 * second): servers take `serverCertFile`/`serverKeyFile` and trust `caFile`
 * for client certificates; clients trust `caFile`.
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  await makeCa(dir, 'ca');
  await makeCa(dir, 'stranger');
  await makeSigned(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await makeSigned(dir, 'client', 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => join(dir, name);
  const text = (name: string) => readFile(file(name), 'utf8');
  return {
    dir,
    caFile: file('ca.crt'),
    ca: await text('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    clientCert: await text('client.crt'),
    clientKey: await text('client.key'),
    strangerCaFile: file('stranger.crt'),
    strangerCa: await text('stranger.crt'),
  };
}
