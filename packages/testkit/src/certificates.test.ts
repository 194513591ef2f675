import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from './certificates.js';

describe('makeTestCertificates', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('makes a server certificate its CA verifies, a client certificate the server verifies, and a stranger that verifies neither', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-certs-'));
    dirs.push(dir);
    const certs = await makeTestCertificates(dir);
    const server = createServer(
      {
        cert: readFileSync(certs.serverCertFile),
        key: readFileSync(certs.serverKeyFile),
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => socket.end(`hello ${socket.getPeerCertificate().subject.CN}`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const talk = (ca: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca, cert: certs.clientCert, key: certs.clientKey });
        let said = '';
        socket
          .on('data', (chunk) => (said += chunk))
          .on('end', () => resolve(said))
          .on('error', reject);
      });
    try {
      expect(await talk(certs.ca)).toBe('hello ferry-client');
      await expect(talk(certs.strangerCa)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    } finally {
      server.close();
    }
  });
});
