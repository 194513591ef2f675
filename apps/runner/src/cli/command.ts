import type { ConnectorRegistry } from '@ferry/core';

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
