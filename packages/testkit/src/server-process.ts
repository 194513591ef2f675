import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A server a test started for itself: its port, and how to stop it. */
export interface TestServerProcess {
  readonly port: number;
  stop(): Promise<void>;
}

export interface ServerCommand {
  /** For messages: `redis-server (TLS)`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The port that accepts connections once the server is ready. */
  readonly port: number;
  /** Where its output goes, shown when it does not come up. */
  readonly log: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly readyWithinMs?: number;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a server in the foreground of a child process and waits until its port accepts connections. */
export async function startServerProcess(server: ServerCommand): Promise<TestServerProcess> {
  const out = openSync(server.log, 'a');
  // A group of its own: a start script's children (an Erlang VM) stop with it.
  const child = spawn(server.command, server.args, {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...server.env },
    detached: true,
  });
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, name);
    } catch {
      // Gone already.
    }
  };
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.on('exit', (code, by) => {
      exited = `exited (${by ?? code})`;
      resolve();
    });
    child.on('error', (error) => {
      exited = `did not start (${error.message})`;
      resolve();
    });
  });
  const deadline = Date.now() + (server.readyWithinMs ?? 20_000);
  while (!(await accepts(server.port))) {
    if (exited !== undefined || Date.now() > deadline) {
      signal('SIGKILL');
      const why = exited ?? `did not listen on 127.0.0.1:${server.port} in time`;
      throw new Error(`${server.name} ${why}; its log ${server.log} ends:\n${tail(server.log)}`);
    }
    await sleep(200);
  }
  return {
    port: server.port,
    async stop() {
      if (exited !== undefined) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
