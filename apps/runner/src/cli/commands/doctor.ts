import { describeError } from '@ferry/core';
import { connectControl } from '../../control/index.js';
import { formatNotes, listJournalNotes } from '../../control/journal-notes.js';
import { controlSettings, loadServerConfig, type ServerConfig } from '../../server-config.js';
import { type CliIo, type CommandHandler, configFileArgument, exitCodes } from '../command.js';
import { checkConnection, formatChecks } from '../connection-checks.js';

const doctorHelp = `usage: ferry doctor <config-file>

Checks every connection of a config: reachable, server version, credentials;
then lists the batches the journal holds in doubt in the control store, each
said live (a reader runs under its name) or orphaned.
Exit code 0 when all connections answer, 1 otherwise.
`;

/** The journal's batches in doubt, or why they could not be read. */
async function printNotes(server: ServerConfig, io: CliIo): Promise<void> {
  const control = controlSettings({}, io.env, server);
  try {
    const redis = await connectControl(control.url, {}, control.tls);
    try {
      io.stdout.write(`${formatNotes(await listJournalNotes(redis, control.prefix))}\n`);
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    io.stdout.write(`journal: not read (${describeError(error)})\n`);
  }
}

/** `ferry doctor <config-file>`: every connection's login and version, then the journal's batches in doubt. */
export const doctorCommand: CommandHandler = async (args, io, connectors) => {
  const file = configFileArgument(args, io, 'doctor', doctorHelp);
  if (file === undefined) return exitCodes.ok;
  const { server, registry } = await loadServerConfig(file, io.env, undefined, connectors);
  const checks = await Promise.all(
    Object.entries(server.config.connections).map(([name, c]) => checkConnection(name, c, registry)),
  );
  io.stdout.write(`${formatChecks(checks)}\n`);
  await printNotes(server, io);
  const failed = checks.filter((c) => c.status === 'failed').length;
  const unchecked = checks.filter((c) => c.status === 'unchecked').length;
  const answered = checks.length - unchecked;
  const notChecked = unchecked === 0 ? '' : ` (${unchecked} not checked: no check for its connector)`;
  io.stdout.write(
    failed === 0
      ? `ok: ${answered} connection${answered === 1 ? '' : 's'} answer${notChecked}\n`
      : `${failed} of ${checks.length} connections failed${notChecked}\n`,
  );
  return failed === 0 ? exitCodes.ok : exitCodes.failed;
};
