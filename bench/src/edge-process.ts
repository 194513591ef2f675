import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Timed } from './bench-case.js';
import { packagesOfCase } from './connectors.js';

const entry = fileURLToPath(new URL('./run-edge.js', import.meta.url));

export interface EdgeArgs {
  readonly name: string;
  readonly records: number;
  readonly rounds: number;
  readonly batchSize: number;
  /** Only the pump, once: the memory case, where the hand loop would blur what the pump holds. */
  readonly pumpOnly: boolean;
}

/** What one edge's process sends back over the IPC channel. */
export interface EdgeResult {
  readonly pump: Timed[];
  readonly loop: Timed[];
  /**
   * The peak RSS of the pump's moves, in KiB: the highest of the process's
   * while the pump ran (a `ferry serve` worker's for the API case), or the
   * process's own where that cannot be told apart.
   */
  readonly peakRssKb: number;
  /** The peak RSS of the whole process (seeding, hand loop and pump, every round), in KiB. */
  readonly processPeakRssKb: number;
}

/**
 * Runs one edge in a process of its own (`run-edge.js`), with this process's
 * stdout and stderr, and resolves with what it sent back; rejects when it
 * failed, with its exit code (its own message is already on stderr).
 */
export function runInChild(args: EdgeArgs, env: NodeJS.ProcessEnv): Promise<EdgeResult> {
  const packages = packagesOfCase(args.name);
  const childEnv = packages === undefined ? env : { ...env, FERRY_BENCH_CONNECTORS: packages.join(',') };
  const child = fork(entry, [JSON.stringify(args)], {
    env: childEnv,
    execArgv: ['--enable-source-maps', '--expose-gc'],
  });
  let result: EdgeResult | undefined;
  child.on('message', (message) => {
    result = message as EdgeResult;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && result !== undefined) resolve(result);
      else
        reject(new Error(`${args.name} bench process ${signal === null ? `exited ${code}` : `killed by ${signal}`}`));
    });
  });
}
