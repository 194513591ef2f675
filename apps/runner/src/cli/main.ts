import { type ConnectorRegistry, FerryError } from '@ferry/core';
import { createRegistry } from '../connectors.js';
import { type CliIo, type CommandHandler, exitCodes } from './command.js';
import { apiCommand } from './commands/api.js';
import { cancelCommand } from './commands/cancel.js';
import { doctorCommand } from './commands/doctor.js';
import { edgesCommand } from './commands/edges.js';
import { helpCommand } from './commands/help.js';
import { jobsCommand } from './commands/jobs.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { submitCommand } from './commands/submit.js';
import { validateCommand } from './commands/validate.js';
import { versionCommand } from './commands/version.js';
import { workerCommand } from './commands/worker.js';
import { exitCodeOf, formatError } from './errors.js';
import { maskedIo } from './masked-io.js';
import { UsageError } from './run-args.js';

// The rule: every `ferry <command>` is src/cli/commands/<command>.ts exporting one CommandHandler, listed here once.
const commands: Record<string, CommandHandler> = {
  run: runCommand,
  validate: validateCommand,
  edges: edgesCommand,
  serve: serveCommand,
  api: apiCommand,
  worker: workerCommand,
  submit: submitCommand,
  jobs: jobsCommand,
  cancel: cancelCommand,
  doctor: doctorCommand,
};

/** The options that stand for a command. */
const aliases: Record<string, CommandHandler> = {
  help: helpCommand,
  '-h': helpCommand,
  '--help': helpCommand,
  '-v': versionCommand,
  '--version': versionCommand,
};

/** The handler and its arguments; `help <command>` is that command's `--help`. */
function dispatch(argv: readonly string[]): [CommandHandler, string[]] {
  const [name = '', ...args] = argv;
  const topic = args[0];
  if (name === 'help' && topic !== undefined && Object.hasOwn(commands, topic)) {
    return [commands[topic]!, ['--help']];
  }
  const handler = Object.hasOwn(commands, name)
    ? commands[name]
    : Object.hasOwn(aliases, name)
      ? aliases[name]
      : undefined;
  if (handler !== undefined) return [handler, args];
  const names = Object.keys(commands);
  throw new UsageError(
    `[ferry] unknown command ${JSON.stringify(name)}: expected ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`,
  );
}

/** Runs the `ferry` command line; resolves to the exit code. */
export async function main(
  argv: readonly string[],
  given: CliIo,
  registry: ConnectorRegistry = createRegistry(),
): Promise<number> {
  const io = maskedIo(argv, given);
  const [command] = argv;
  // Without a command: the help, on stderr, as a usage error.
  if (command === undefined) return helpCommand([], { ...io, stdout: io.stderr }, registry).then(() => exitCodes.usage);
  try {
    const [handler, args] = dispatch(argv);
    return await handler(args, io, registry);
  } catch (error) {
    io.stderr.write(`${formatError(error)}\n`);
    if (error instanceof UsageError || (error instanceof TypeError && exitCodeOf(error) === exitCodes.usage)) {
      io.stderr.write(`see: ferry ${Object.hasOwn(commands, command) ? `${command} ` : ''}--help\n`);
    }
    if (!(error instanceof FerryError) && !(error instanceof TypeError) && io.env.FERRY_DEBUG) {
      io.stderr.write(`${(error as Error).stack ?? ''}\n`);
    }
    return exitCodeOf(error);
  }
}
