import { parseArgs } from 'node:util';
import type { ConnectorDefinition, ConnectorRegistry, FerryConfig, PumpResult } from '@ferry/core';
import { type FlowReader, openFlowReader } from '../../control/flow-reader.js';
import { connectControl } from '../../control/index.js';
import { type BuiltFlow, buildPlanned, type FlowPlan, planFlow } from '../../jobs/flow-builder.js';
import { runFlow } from '../../jobs/run-flow.js';
import { defaultQueuePrefix, resolveControlTls } from '../../server-config.js';
import { type CliIo, type CommandHandler, exitCodes } from '../command.js';
import { createProgressReporter, formatResult } from '../progress.js';
import { type RunFlagValues, resolveRunTarget, runFlags } from '../run-args.js';

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

/** Ctrl-C or SIGTERM stops the flow after the batch in hand; a second Ctrl-C quits at once. Returns the remover. */
function stopOnSignals(io: CliIo, controller: AbortController): () => void {
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
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * With a control store, the batch between write and ack is noted there, so a
 * crash does not write it twice where the sink can tell; without one,
 * at-least-once. The reader's name is leased there; losing it stops the flow.
 */
async function openReader(config: FerryConfig, plan: FlowPlan, controller: AbortController) {
  const control = config.control?.url;
  if (control === undefined) return undefined;
  const redis = await connectControl(control, {}, resolveControlTls(control, config.control?.tls));
  let reader: FlowReader;
  try {
    reader = await openFlowReader({ redis, prefix: config.control?.prefix ?? defaultQueuePrefix, plan });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  // Another reader may have this one's name once its lease is lost: stop before the next batch.
  reader.lease.lost.addEventListener('abort', () => controller.abort());
  const close = async () => {
    await reader.lease.release();
    redis.disconnect();
  };
  return { reader, close };
}

/** Runs the flow with a progress line on stderr; the result on stdout. */
async function runInForeground(flow: BuiltFlow, reader: FlowReader | undefined, io: CliIo, signal: AbortSignal) {
  const tty = io.stderr.isTTY === true;
  if (tty) {
    const guarantee = reader === undefined ? 'at-least-once: no control store' : 'batch journal in the control store';
    io.stderr.write(`ferry: flow "${flow.name}" (${flow.edge.name}), ${guarantee}\n`);
  }
  const reporter = createProgressReporter({ stream: io.stderr, tty });
  try {
    return await runFlow(flow, { signal, onProgress: (p) => reporter.update(p), journal: reader?.journal });
  } finally {
    reporter.finish();
  }
}

/** `ferry run`: one flow in the foreground, from a config file or from flags. */
export const runCommand: CommandHandler = async (args, io, connectors) => {
  const { values, positionals } = parseArgs({ args, options: runFlags, allowPositionals: true, strict: true });
  const flags = values as RunFlagValues;
  if (flags.help === true) {
    io.stdout.write(runHelp(connectors));
    return exitCodes.ok;
  }
  const target = await resolveRunTarget(positionals, flags, io.env, connectors);
  // Planned before connecting anywhere, so that a bad flow is refused first.
  const plan = planFlow(target.config, target.flowName, target.registry);
  let flow: BuiltFlow;

  const controller = new AbortController();
  const removeSignals = stopOnSignals(io, controller);
  let result: PumpResult;
  let opened: Awaited<ReturnType<typeof openReader>>;
  try {
    opened = await openReader(target.config, plan, controller);
    flow = opened?.reader.flow ?? buildPlanned(plan);
    result = await runInForeground(flow, opened?.reader, io, controller.signal);
  } finally {
    removeSignals();
    await opened?.close();
  }
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify({ flow: flow.name, edge: flow.edge.name, ...result })}\n`);
  } else {
    io.stdout.write(`${formatResult(result)}\n`);
  }
  return result.stopReason === 'aborted' ? exitCodes.cancelled : exitCodes.ok;
};
