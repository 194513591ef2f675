import type { ConnectorRegistry } from '@ferry/core';
import { type CommandHandler, exitCodes } from '../command.js';
import { andList } from '../format.js';

/** `A (X), B (Y) and C (Z)`: the registered systems with their letters. */
function systemList(registry: ConnectorRegistry): string {
  return andList(registry.list().map((c) => `${c.title} (${c.letter})`));
}

const overview = (registry: ConnectorRegistry) => `ferry: moves records between ${systemList(registry)}, batch by batch.

usage:
  ferry run <config-file> <flow-name> [flags]   run one flow in the foreground
  ferry run --source-url URL [--sink-url URL] --source KEY=VALUE --sink KEY=VALUE [flags]
                                                run a one-off flow described by flags
  ferry validate <config-file>                  check every flow of a config without connecting
  ferry edges                                   show which edges (S2S, Q2C, ...) are permitted
  ferry serve [--config FILE] [flags]           the HTTP API (port 24104) and a worker in one process
  ferry api [--config FILE] [flags]             the HTTP API only
  ferry worker [--config FILE] [flags]          a worker only: runs queued flow jobs
  ferry submit <config-file> <flow-name>        queue a flow as a job; prints the job id
  ferry jobs [--state STATE]                    list the queue's jobs
  ferry jobs --watch [JOB-ID]                   follow a job live until it ends: progress, rate, ETA
  ferry cancel <job-id>                         cancel a job (a running flow stops cleanly)
  ferry doctor <config-file>                    check every connection: reachable, version, credentials
  ferry help [command]                          help for a command

options:
  -h, --help       show help
  -v, --version    show the version

exit codes: 0 done, 1 the flow failed, 2 bad config or usage, 130 cancelled (Ctrl-C)
`;

/**
 * `ferry help`, `--help`: the commands. `ferry help <command>` is that
 * command's `--help`, which the dispatch runs; a topic left here is none.
 */
export const helpCommand: CommandHandler = async (args, io, registry) => {
  io.stdout.write(overview(registry));
  return args.length === 0 ? exitCodes.ok : exitCodes.usage;
};
