import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createPump, type Inspector } from '@ferry/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createNatsSink, createNatsSource, natsConnector } from './index.js';
import { admin, closeAdmin, createStream, deleteStreams, natsUrl, publish, streamName } from './test-admin.js';

const streams: string[] = [];
const inspectors: Inspector[] = [];
const servers: ChildProcess[] = [];

afterEach(async () => {
  for (const inspector of inspectors.splice(0)) await inspector.close();
  for (const server of servers.splice(0)) server.kill();
  await deleteStreams(...streams.splice(0));
});
afterAll(closeAdmin);

const settings = { timeoutMs: 2000, clientName: 'ferry:test' };

function inspect(url = natsUrl): Inspector {
  const inspector = natsConnector.inspect!({ kind: 'nats', url }, settings);
  inspectors.push(inspector);
  return inspector;
}

async function stream(): Promise<string> {
  const name = streamName('ferry_test_n_inspect');
  streams.push(name);
  await createStream(name);
  return name;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** nats-server on PATH (the services script installs it), else the credential test is skipped. */
const natsServer = (() => {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('nats inspector', () => {
  it("probe: reachable, with the server's version", async () => {
    const { nc } = await admin();
    const result = await inspect().probe();
    expect(result).toEqual({ version: nc.info!.version, detail: 'reachable, logged in, JetStream enabled' });
  });

  it('probe: an unreachable server says so', async () => {
    const port = await freePort();
    await expect(inspect(`nats://127.0.0.1:${port}`).probe()).rejects.toThrow(/^unreachable: .*127\.0\.0\.1:\d+/);
  });

  it.skipIf(!natsServer)('probe: refused credentials say so, without the password', async () => {
    const port = await freePort();
    const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '--user', 'ferry', '--pass', 'right']);
    servers.push(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const error = await inspect(`nats://ferry:wrong@127.0.0.1:${port}`)
      .probe()
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/^credentials refused: /);
    expect((error as Error).message).not.toContain('wrong');
  });

  it("depth: the stream's messages, or what waits for the endpoint's consumer once it has one", async () => {
    const name = await stream();
    for (let i = 0; i < 5; i++) await publish(name, '{"a":1}', { msgId: `m-${i}` });
    const inspector = inspect();
    expect(await inspector.depth({ url: natsUrl, stream: name, subject: `ferry.test.${name}` })).toBe(5);
    expect(await inspector.depth({ url: natsUrl, stream: name })).toBe(5);
    const source = createNatsSource({ url: natsUrl, stream: name });
    await source.open();
    await source.ack(await source.read(2, { waitMs: 0 }));
    await source.close();
    // The limits stream keeps acked messages: the consumer tells what is left to read.
    expect(await inspector.depth({ url: natsUrl, stream: name })).toBe(3);
    await expect(inspector.depth({ url: natsUrl, stream: 'ferry_test_n_none' })).rejects.toThrow(/not found/);
  });

  it('latest: the newest dead letters, newest first, read without taking them', async () => {
    const from = await stream();
    const to = await stream();
    const dead = await stream();
    for (const id of ['bad-1', 'bad-2', 'bad-3']) await publish(from, `not json ${id}`, { msgId: id });
    await createPump({
      source: createNatsSource({ url: natsUrl, stream: from }),
      sink: createNatsSink({ url: natsUrl, stream: to }),
      deadLetter: createNatsSink({ url: natsUrl, stream: dead }),
      batchSize: 10,
    }).run();
    const letters = await inspect().latest!({ url: natsUrl, stream: dead }, 2);
    expect(letters.map((l) => l.sourceId)).toEqual(['bad-3', 'bad-2']);
    expect(letters[0]).toMatchObject({ id: 'bad-3', reason: expect.stringMatching(/^body is not JSON/) });
    expect(letters[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await (await admin()).jsm.streams.info(dead)).state.messages).toBe(3);
  });
});
