import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  type ConnectorDefinition,
  type ConnectorRegistry,
  describeError,
  FerryError,
  getFlow,
  type PumpResult,
} from '@ferry/core';
import { loadConfig } from '../config-file.js';
import { createRegistry } from '../connectors.js';
import { type FlowReader, openFlowReader } from '../control/flow-reader.js';
import { connectControl } from '../control/index.js';
import { buildFlow, validateConfig } from '../jobs/flow-builder.js';
import { BadRequestError } from '../jobs/job-spec.js';
import { runFlow } from '../jobs/run-flow.js';
import { defaultQueuePrefix } from '../server-config.js';
import { andList } from './format.js';
import { createProgressReporter, formatResult } from './progress.js';
import { type RunFlagValues, resolveRunTarget, runFlags, UsageError } from './run-args.js';
import {
  cancelCommand,
  cancelHelp,
  doctorCommand,
  doctorHelp,
  jobsCommand,
  jobsHelp,
  serveCommand,
  serveHelp,
  submitCommand,
  submitHelp,
} from './server-commands.js';

export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit codes: 0 done, 1 the flow failed, 2 bad config or usage, 130 cancelled by a signal. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** `A (X), B (Y) and C (Z)`: the registered systems with their letters. */
function systemList(registry: ConnectorRegistry): string {
  return andList(registry.list().map((c) => `${c.title} (${c.letter})`));
}

/**
 * A connector's URL schemes, shortened where one extends another:
 * `redis(s)://`, `mongodb(+srv)://`.
 */
function schemeText(connector: ConnectorDefinition): string {
  const [first, ...others] = connector.schemes.map((s) => s.slice(0, -1));
  if (first === undefined) return '';
  const extra = others.filter((s) => s.startsWith(first)).map((s) => s.slice(first.length));
  const rest = others.filter((s) => !s.startsWith(first)).map((s) => `${s}://`);
  const head =
    extra.length === 1
      ? `${first}(${extra[0]})://`
      : [`${first}://`, ...extra.map((e) => `${first}${e}://`)].join(', ');
  return [head, ...rest].join(', ');
}

/** Each connector's schemes and the kind they stand for (`x(s):// → kind`), wrapped to the help's column. */
function schemeLines(registry: ConnectorRegistry, indent: string, width = 60): string {
  const parts = registry
    .list()
    .filter((c) => c.schemes.length > 0)
    .map((c) => `${schemeText(c)} → ${c.kind}`);
  const lines: string[] = [];
  let line = '';
  for (const [i, part] of parts.entries()) {
    const piece = `${part}${i < parts.length - 1 ? ',' : ''}`;
    if (line !== '' && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = piece;
    } else line = line === '' ? piece : `${line} ${piece}`;
  }
  if (line !== '') lines.push(line);
  return lines.join(`\n${indent}`);
}

const mainHelp = (registry: ConnectorRegistry) => `ferry: moves records between ${systemList(registry)}, batch by batch.

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

const runHelp = (registry: ConnectorRegistry) => `usage:
  ferry run <config-file> <flow-name> [flags]
  ferry run --source-url URL [--sink-url URL] [flow-name] --source KEY=VALUE ... --sink KEY=VALUE ... [flags]

Runs one flow in the foreground until it stops: source empty, maxBatches reached,
target full (with --when-full stop), or Ctrl-C (the batch in hand is finished or
released; a second Ctrl-C quits at once). With a config file, the flags override
that flow's settings.

flags:
  --source-url URL          source server; the kind comes from the scheme:
                            ${schemeLines(registry, '                            ')}
  --sink-url URL            sink server (default: the source's)
  --source-kind KIND        override the inferred kind (${registry.kinds().join(', ')})
  --sink-kind KIND
  --source KEY=VALUE        a source key (stream, mode, codec, ...); repeatable; VALUE is JSON when it parses
  --sink KEY=VALUE          a sink key (stream, maxLen, ...); repeatable
  --batch-size N            records per batch (default 1000)
  --max-batches N           stop after N batches (default: no limit)
  --follow                  wait for new records instead of stopping when the source is empty
  --when-full wait|stop     what to do when the sink reaches its maxLen (default wait)
  --poll-interval-ms N      how often a full sink is polled / a follow-mode read waits (default 1000)
  --json                    print the result as JSON instead of the final line
  -h, --help                show this help

example:
  ferry run --source-url redis://127.0.0.1:6379 --source stream=in --source mode=range \\
            --sink stream=out --sink maxLen=100000 --batch-size 1000
`;

const validateHelp = `usage: ferry validate <config-file>

Parses the config (YAML or JSON, \${VAR} and \${VAR:-default} taken from the
environment) and builds every flow without connecting to anything: the edge,
the source, the sink and the dead-letter sink of each. Exit code 0 when every
flow builds, 2 otherwise.
`;

const edgesHelp = (registry: ConnectorRegistry) => `usage: ferry edges [--config FILE]

Prints the edge matrix: every ordered pair of the registered systems
(${registry
  .list()
  .map((c) => `${c.letter} ${c.title}`)
  .join(', ')}; with --config, its plug-ins too),
the refused ones with the reason.
`;

const helps = (registry: ConnectorRegistry): Record<string, string> => ({
  run: runHelp(registry),
  validate: validateHelp,
  edges: edgesHelp(registry),
  serve: serveHelp,
  api: serveHelp,
  worker: serveHelp,
  submit: submitHelp,
  jobs: jobsHelp,
  cancel: cancelHelp,
  doctor: doctorHelp,
});

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `error: <message>`, then each cause that the message does not already say. */
export function formatError(error: unknown): string {
  let text = `error: ${describeError(error)}`;
  const seen = new Set<unknown>([error]);
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined && cause !== null && !seen.has(cause)) {
    seen.add(cause);
    const message = describeError(cause);
    const isZod = cause instanceof Error && cause.name === 'ZodError';
    if (!isZod && message !== '' && !text.includes(message)) text += `\n  caused by: ${message}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof BadRequestError) {
    return exitCodes.usage;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return exitCodes.usage;
  return exitCodes.failed;
}

async function runCommand(args: string[], io: CliIo, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: runFlags, allowPositionals: true, strict: true });
  const flags = values as RunFlagValues;
  if (flags.help === true) {
    io.stdout.write(runHelp(connectors));
    return exitCodes.ok;
  }
  const target = await resolveRunTarget(positionals, flags, io.env, connectors);
  const { registry } = target;
  // Built once without a control store, to refuse a bad flow before connecting anywhere.
  let flow = buildFlow(target.config, target.flowName, registry);

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1 && signal === 'SIGINT') {
      io.stderr.write('\nferry: quitting at once; the batch in hand will be read again\n');
      process.exit(exitCodes.cancelled);
    }
    io.stderr.write(`\nferry: stopping (${signal}): finishing the batch in hand; Ctrl-C again to quit at once\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // With a control store, the batch between write and ack is noted there, so a
  // crash does not write it twice where the sink can tell; without one, at-least-once.
  const control = target.config.control?.url;
  const redis = control === undefined ? undefined : await connectControl(control);
  let reader: FlowReader | undefined;
  if (redis !== undefined) {
    const { config, flowName } = target;
    try {
      reader = await openFlowReader({
        redis,
        prefix: config.control?.prefix ?? defaultQueuePrefix,
        config,
        flowName,
        spec: getFlow(config, flowName),
        registry,
        build: (spec) => buildFlow({ ...config, flows: { ...config.flows, [flowName]: spec } }, flowName, registry),
      });
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    flow = reader.flow;
    // Another reader may have this one's name once its lease is lost: stop before the next batch.
    reader.lease.lost.addEventListener('abort', () => controller.abort());
  }
  const journal = reader?.journal;

  const tty = io.stderr.isTTY === true;
  if (tty) {
    const guarantee = journal === undefined ? 'at-least-once: no control store' : 'batch journal in the control store';
    io.stderr.write(`ferry: flow "${flow.name}" (${flow.edge.name}), ${guarantee}\n`);
  }
  const reporter = createProgressReporter({ stream: io.stderr, tty });
  let result: PumpResult;
  try {
    result = await runFlow(flow, { signal: controller.signal, onProgress: (p) => reporter.update(p), journal });
  } finally {
    reporter.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await reader?.lease.release();
    redis?.disconnect();
  }
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify({ flow: flow.name, edge: flow.edge.name, ...result })}\n`);
  } else {
    io.stdout.write(`${formatResult(result)}\n`);
  }
  return result.stopReason === 'aborted' ? exitCodes.cancelled : exitCodes.ok;
}

/** Parses a command that takes positionals and `--help` only; undefined when help was asked for and shown. */
function helpOrPositionals(args: string[], help: string, io: CliIo): string[] | undefined {
  const { values, positionals } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help !== true) return positionals;
  io.stdout.write(help);
  return undefined;
}

async function validateCommand(args: string[], io: CliIo, connectors: ConnectorRegistry): Promise<number> {
  const positionals = helpOrPositionals(args, validateHelp, io);
  if (positionals === undefined) return exitCodes.ok;
  const [file, ...rest] = positionals;
  if (file === undefined) throw new UsageError('[ferry] missing <config-file>: ferry validate <config-file>');
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  const { config, registry } = await loadConfig(file, io.env, connectors);
  const checks = validateConfig(config, registry);
  const bad = checks.filter((c) => c.problems.length > 0);
  const plural = (n: number) => `${n} flow${n === 1 ? '' : 's'}`;
  if (bad.length === 0) {
    const names = checks.map((c) => `${c.name} ${c.edge ?? ''}`.trim()).join(', ');
    io.stdout.write(`ok: ${plural(checks.length)}${checks.length > 0 ? ` (${names})` : ''}\n`);
    return exitCodes.ok;
  }
  const lines = [`error: ${bad.length} of ${plural(checks.length)} in ${file} cannot run:`];
  for (const check of bad) {
    lines.push(`  ${check.name}${check.edge === undefined ? '' : ` (${check.edge})`}:`);
    for (const problem of check.problems) lines.push(`    - ${problem.replace(/\n/g, '\n      ')}`);
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  return exitCodes.usage;
}

async function edgesCommand(args: string[], io: CliIo, connectors: ConnectorRegistry): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' }, config: { type: 'string', short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(edgesHelp(connectors));
    return exitCodes.ok;
  }
  if (positionals.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[0])}`);
  const registry =
    values.config === undefined ? connectors : (await loadConfig(values.config, io.env, connectors)).registry;
  const systems = registry.list();
  const edges = registry.edges();
  const cell = (from: string, to: string) => {
    const edge = edges.find((e) => e.from === from && e.to === to)!;
    return edge.allowed ? `${edge.name} *` : 'refused';
  };
  const width = 9;
  const letters = systems.map((s) => s.letter);
  const lines = [
    'edges, source (rows) to sink (columns); * runs with the connectors registered here',
    '',
    `${'from\\to'.padEnd(width)}${letters.map((l) => l.padEnd(width)).join('')}`.trimEnd(),
  ];
  for (const from of letters) {
    lines.push(`${from.padEnd(width)}${letters.map((to) => cell(from, to).padEnd(width)).join('')}`.trimEnd());
  }
  lines.push('', 'systems:');
  for (const s of systems)
    lines.push(`  ${s.letter}  ${s.title} (kind ${s.kind}, ${s.holds === 'store' ? 'a store' : 'a stream'})`);
  const allowed = edges.filter((e) => e.allowed).length;
  lines.push('', `${allowed} of ${edges.length} edges permitted; refused:`);
  for (const edge of edges.filter((e) => !e.allowed)) lines.push(`  ${edge.name}: ${edge.reason}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}

/** Runs the `ferry` command line; resolves to the exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  registry: ConnectorRegistry = createRegistry(),
): Promise<number> {
  const [command, ...args] = argv;
  const help = helps(registry);
  try {
    switch (command) {
      case undefined:
        io.stderr.write(mainHelp(registry));
        return exitCodes.usage;
      case '-h':
      case '--help':
        io.stdout.write(mainHelp(registry));
        return exitCodes.ok;
      case 'help': {
        const topic = args[0];
        io.stdout.write(topic === undefined ? mainHelp(registry) : (help[topic] ?? mainHelp(registry)));
        return topic === undefined || topic in help ? exitCodes.ok : exitCodes.usage;
      }
      case '-v':
      case '--version':
        io.stdout.write(`${version()}\n`);
        return exitCodes.ok;
      case 'run':
        return await runCommand(args, io, registry);
      case 'validate':
        return await validateCommand(args, io, registry);
      case 'edges':
        return await edgesCommand(args, io, registry);
      case 'serve':
      case 'api':
      case 'worker':
        return await serveCommand(command, args, io, registry);
      case 'submit':
        return await submitCommand(args, io, registry);
      case 'jobs':
        return await jobsCommand(args, io, registry);
      case 'cancel':
        return await cancelCommand(args, io, registry);
      case 'doctor':
        return await doctorCommand(args, io, registry);
      default:
        throw new UsageError(
          `[ferry] unknown command ${JSON.stringify(command)}: expected run, validate, edges, serve, api, worker, submit, jobs, cancel or doctor`,
        );
    }
  } catch (error) {
    io.stderr.write(`${formatError(error)}\n`);
    if (error instanceof UsageError || (error instanceof TypeError && exitCodeOf(error) === exitCodes.usage)) {
      io.stderr.write(`see: ferry ${command !== undefined && command in help ? `${command} ` : ''}--help\n`);
    }
    if (!(error instanceof FerryError) && !(error instanceof TypeError) && io.env.FERRY_DEBUG) {
      io.stderr.write(`${(error as Error).stack ?? ''}\n`);
    }
    return exitCodeOf(error);
  }
}
