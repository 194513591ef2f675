import { type CommandHandler, exitCodes } from '../command.js';
import { version } from '../version.js';

/** `ferry --version`. */
export const versionCommand: CommandHandler = async (_args, io) => {
  io.stdout.write(`${version()}\n`);
  return exitCodes.ok;
};
