import { parseArgs } from 'node:util';
import type { ConnectorRegistry } from '@ferry/core';
import { loadConfig } from '../../config-file.js';
import { type CommandHandler, exitCodes } from '../command.js';
import { UsageError } from '../run-args.js';

const edgesHelp = (registry: ConnectorRegistry) => `usage: ferry edges [--config FILE]

Prints the edge matrix: every ordered pair of the registered systems
(${registry
  .list()
  .map((c) => `${c.letter} ${c.title}`)
  .join(', ')}; with --config, its plug-ins too),
the refused ones with the reason.
`;

/** The matrix, the systems, and the refused edges with the reason. */
function edgeMatrix(registry: ConnectorRegistry): string[] {
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
  return lines;
}

/** `ferry edges [--config FILE]`: which edges the registered connectors (and the config's plug-ins) permit. */
export const edgesCommand: CommandHandler = async (args, io, connectors) => {
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
  io.stdout.write(`${edgeMatrix(registry).join('\n')}\n`);
  return exitCodes.ok;
};
