import { parseArgs } from 'node:util';
import type { ConnectorRegistry } from '@ferry/core';
import { UsageError } from './run-args.js';

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit codes: 0 done, 1 the flow failed, 2 bad config or usage, 130 cancelled by a signal. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/**
 * A `ferry <command>`: its arguments after the command's name, resolving to
 * the exit code; `--help` among them prints its help. A usage or config error
 * is thrown, for the dispatch to print with the exit code it maps to.
 */
export type CommandHandler = (args: string[], io: CliIo, registry: ConnectorRegistry) => Promise<number>;

/**
 * The one argument of `ferry <command> <config-file>`, or undefined when
 * `--help` asked for the command's help (then printed).
 */
export function configFileArgument(args: string[], io: CliIo, command: string, help: string): string | undefined {
  const { values, positionals } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(help);
    return undefined;
  }
  const [file, ...rest] = positionals;
  if (file === undefined) throw new UsageError(`[ferry] missing <config-file>: ferry ${command} <config-file>`);
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  return file;
}
