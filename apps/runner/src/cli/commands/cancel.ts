import { parseArgs } from 'node:util';
import { type CommandHandler, exitCodes } from '../command.js';
import { controlFlags, withStore } from '../control-flags.js';
import { UsageError } from '../run-args.js';

const cancelHelp = `usage: ferry cancel <job-id>

Cancels a job: a waiting job is removed, a running one stops cleanly (the batch in
hand finished or released). Flags --config, --redis and --prefix as for serve.
`;

/** `ferry cancel <job-id>`. */
export const cancelCommand: CommandHandler = async (args, io, connectors) => {
  const { values, positionals } = parseArgs({ args, options: controlFlags, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(cancelHelp);
    return exitCodes.ok;
  }
  const [id, ...rest] = positionals;
  if (id === undefined) throw new UsageError('[ferry] missing <job-id>: ferry cancel <job-id>');
  if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
  const state = await withStore(values, io, connectors, (store) => store.cancel(id));
  if (state === undefined) {
    io.stderr.write(`error: no job ${JSON.stringify(id)}\n`);
    return exitCodes.failed;
  }
  io.stdout.write(`${id} ${state === 'active' ? 'cancelling (stops after the batch in hand)' : state}\n`);
  return exitCodes.ok;
};
