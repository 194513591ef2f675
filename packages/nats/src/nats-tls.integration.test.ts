import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, toJson } from '@ferry/core';
import {
  makeTestCertificates,
  sampleRecords,
  startTlsNats,
  type TestCertificates,
  type TestServerProcess,
} from '@ferry/testkit';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsSink, createNatsSource } from './index.js';
import { streamName, subjectOf } from './test-admin.js';

let certs: TestCertificates;
/** TLS without a client certificate; `strict` verifies one and refuses a client without. */
let open: TestServerProcess;
let strict: TestServerProcess;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), 'ferry-nats-tls-')));
  [open, strict] = await Promise.all([startTlsNats(certs), startTlsNats(certs, 'yes')]);
  nc = await connect({ servers: `127.0.0.1:${open.port}`, tls: { ca: certs.ca } });
  jsm = await jetstreamManager(nc);
}, 30_000);

afterAll(async () => {
  await nc?.close();
  await Promise.all([open?.stop(), strict?.stop()]);
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});

async function failure(run: () => Promise<unknown>): Promise<Error> {
  return run().then(
    () => new Error('it did not fail'),
    (error: Error) => error,
  );
}

describe('nats over TLS', () => {
  it('publishes to a stream and reads it, over tls:// or nats:// with tls given', async () => {
    const stream = streamName();
    await jsm.streams.add({ name: stream, subjects: [subjectOf(stream)] });
    const sink = createNatsSink({ url: `tls://127.0.0.1:${open.port}`, stream, tls: { caFile: certs.caFile } });
    await sink.open();
    await sink.write(sampleRecords(3, 'tls'));
    await sink.close();
    const tags: unknown[] = [];
    for (let seq = 1; seq <= 3; seq++)
      tags.push((await jsm.streams.getMessage(stream, { seq }))?.json<{ tag: string }>().tag);
    expect(tags).toEqual(['tls-0', 'tls-1', 'tls-2']);

    await jsm.streams.purge(stream);
    const js = jetstream(nc);
    await js.publish(subjectOf(stream), toJson({ tag: 'in-0' }).text, { msgID: 'm-0' });
    const source = createNatsSource({ url: `nats://127.0.0.1:${open.port}`, stream, tls: { ca: certs.ca } });
    await source.open();
    const batch = await source.read(10, { waitMs: 2000 });
    expect(batch.records.map((record) => record.value.tag)).toEqual(['in-0']);
    await source.ack(batch);
    await source.close();
    const consumer = await jsm.consumers.info(stream, 'ferry');
    expect(consumer.num_pending + consumer.num_ack_pending).toBe(0);
    await jsm.streams.delete(stream);
  });

  it('refuses a server whose certificate no trusted CA signed, naming the connection', async () => {
    for (const tls of [{ ca: certs.strangerCa }, undefined]) {
      const url = `tls://127.0.0.1:${open.port}`;
      const sink = createNatsSink({ url, stream: 'S', tls, connectionName: 'secure' });
      const error = await failure(() => sink.open());
      await sink.close();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(
        /^\[nats\] cannot connect to 127\.0\.0\.1:\d+ \(connection "secure"\) over TLS: the server's certificate is not signed by a CA this connection trusts/,
      );
    }
  });

  it('shows a client certificate to a server that asks for one, and is refused without', async () => {
    const url = `tls://127.0.0.1:${strict.port}`;
    const tls = { ca: certs.ca, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
    const admin = await connect({
      servers: `127.0.0.1:${strict.port}`,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    const strictJsm = await jetstreamManager(admin);
    const stream = streamName();
    await strictJsm.streams.add({ name: stream, subjects: [subjectOf(stream)] });
    const sink = createNatsSink({ url, stream, tls });
    await sink.open();
    await sink.write(sampleRecords(2, 'cert'));
    await sink.close();
    expect((await strictJsm.streams.info(stream)).state.messages).toBe(2);
    await admin.close();

    const bare = createNatsSink({ url, stream, tls: { ca: certs.ca }, connectionName: 'secure' });
    const error = await failure(() => bare.open());
    await bare.close();
    expect(error.message).toMatch(/\(connection "secure"\).*give tls\.cert and tls\.key/);
  });
});
