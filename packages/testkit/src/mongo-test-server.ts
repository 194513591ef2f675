import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { CommandHandler, limits } from './mongo-commands.js';
import { CommandError } from './mongo-errors.js';
import type { Document } from './mongo-query.js';
import { encodeReply, moreToCome, parseRequest, type Request, readHeader } from './mongo-wire.js';

export interface MongoTestServerOptions {
  /** 0 (the default): a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Speak TLS only, with this certificate; `ca`: ask clients for a certificate it signed, and refuse those without. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
}

export interface MongoTestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the in-repo MongoDB wire-protocol test server: test support only,
 * data in memory, never a default of ferry. It speaks OP_MSG (and the legacy
 * OP_QUERY handshake) and implements the commands the official driver sends
 * for what the mongo connector does, with mongod's semantics and error codes.
 */
export async function startMongoTestServer(options: MongoTestServerOptions = {}): Promise<MongoTestServer> {
  const host = options.host ?? '127.0.0.1';
  const handler = new CommandHandler();
  const sockets = new Set<Socket>();
  let connections = 0;
  const accept = (socket: Socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    serve(socket, handler, ++connections);
  };
  const { tls } = options;
  const asked = tls?.ca !== undefined;
  const server =
    tls === undefined
      ? createServer(accept)
      : createTlsServer({ ...tls, requestCert: asked, rejectUnauthorized: asked }, accept);
  // Every connection, a TLS one before its handshake too, so that close() ends them all.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  return {
    url: `mongodb://${host.includes(':') ? `[${host}]` : host}:${port}${tls === undefined ? '' : '/?tls=true'}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function answer(handler: CommandHandler, request: Request, connectionId: number): Document {
  try {
    return handler.run(request.body, request.db, request.sequences, connectionId);
  } catch (error) {
    if (error instanceof CommandError) {
      return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName, ...error.extra };
    }
    return {
      ok: 0,
      errmsg: `test server: ${error instanceof Error ? error.message : String(error)}`,
      code: 1,
      codeName: 'InternalError',
    };
  }
}

/** Reads whole messages off a socket and answers each in order. */
function serve(socket: Socket, handler: CommandHandler, connectionId: number): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= 4) {
      // The length is in the first 4 bytes. The chunks are joined once the whole
      // message is here, not on every arrival: that would copy a 16 MiB message
      // over and over, in as many pieces as a loaded machine delivers it.
      if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, buffered)];
      const length = chunks[0]!.readInt32LE(0);
      if (length < 16 || length > limits.maxMessageSizeBytes + 16 * 1024) {
        socket.destroy();
        return;
      }
      if (buffered < length) return;
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      const message = head.subarray(0, length);
      const rest = head.subarray(length);
      chunks = rest.length > 0 ? [rest] : [];
      buffered = rest.length;
      let request: Request;
      try {
        request = parseRequest(message);
      } catch (error) {
        const header = readHeader(message);
        if (header.opCode !== 2013 && header.opCode !== 2004) {
          socket.destroy();
          return;
        }
        const reason = error instanceof Error ? error.message : String(error);
        const fake: Request = { header, flags: 0, body: {}, db: 'admin', sequences: new Map() };
        for (const part of encodeReply(fake, { ok: 0, errmsg: reason, code: 22, codeName: 'InvalidBSON' })) {
          socket.write(part);
        }
        continue;
      }
      const reply = answer(handler, request, connectionId);
      if (request.header.opCode === 2013 && request.flags & moreToCome) continue;
      const parts = encodeReply(request, reply);
      socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    }
  });
}

/** A MongoDB for tests: where it is, what it is, and how to stop it. */
export interface TestMongo {
  readonly url: string;
  readonly kind: 'MONGO_URL' | 'mongod' | 'test server';
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no free port');
  return address.port;
}

/** The path of an executable on PATH, if any. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a real mongod on a temporary data directory and a free port. */
async function startMongod(binary: string): Promise<TestMongo> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-mongod-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mongod did not start on port ${port} (exit code ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `mongodb://127.0.0.1:${port}`,
    kind: 'mongod',
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The MongoDB the tests use: `MONGO_URL` when set (a real server, left
 * alone); else a `mongod` on PATH started on a temporary directory; else the
 * in-repo test server. A vitest globalSetup calls it once and exports the
 * URL as `MONGO_URL` for the test files.
 */
export async function startTestMongo(): Promise<TestMongo> {
  const given = process.env.MONGO_URL;
  if (given !== undefined && given !== '') return { url: given, kind: 'MONGO_URL', close: async () => undefined };
  const mongod = onPath('mongod');
  if (mongod !== undefined) return startMongod(mongod);
  const server = await startMongoTestServer();
  return { url: server.url, kind: 'test server', close: () => server.close() };
}

/** The MongoDB URL of the tests: `MONGO_URL`, which the package's vitest globalSetup sets when it is not given. */
export function mongoUrl(): string {
  const url = process.env.MONGO_URL;
  if (url === undefined || url === '') {
    throw new Error(
      'MONGO_URL is not set: run the tests through vitest with the globalSetup that calls startTestMongo()',
    );
  }
  return url;
}
