import { loadConfig } from '../../config-file.js';
import { validateConfig } from '../../jobs/flow-builder.js';
import { type CommandHandler, configFileArgument, exitCodes } from '../command.js';

const validateHelp = `usage: ferry validate <config-file>

Parses the config (YAML or JSON, \${VAR} and \${VAR:-default} taken from the
environment) and builds every flow without connecting to anything: the edge,
the source, the sink and the dead-letter sink of each. Exit code 0 when every
flow builds, 2 otherwise.
`;

const plural = (n: number) => `${n} flow${n === 1 ? '' : 's'}`;

/** `ferry validate <config-file>`: every problem of every flow, nothing opened. */
export const validateCommand: CommandHandler = async (args, io, connectors) => {
  const file = configFileArgument(args, io, 'validate', validateHelp);
  if (file === undefined) return exitCodes.ok;
  const { config, registry } = await loadConfig(file, io.env, connectors);
  const checks = validateConfig(config, registry);
  const bad = checks.filter((c) => c.problems.length > 0);
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
};
