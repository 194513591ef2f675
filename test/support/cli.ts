import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'apps/runner/dist/cli/cli.js');
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the built `ferry` command line as a child process. */
export function ferry(
  args: readonly string[],
  options: {
    timeoutMs?: number;
    env?: Record<string, string>;
    onSpawn?: (child: ReturnType<typeof spawn>) => void;
  } = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    options.onSpawn?.(child);
  });
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
let files = 0;

/** Writes a config file in a private temp dir and returns its path. */
export function configFile(text: string, ext = 'yaml'): string {
  files += 1;
  const path = join(dir, `ferry-${files}.${ext}`);
  writeFileSync(path, text);
  return path;
}
