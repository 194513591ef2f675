import { catalogCommands } from './mongo-catalog-commands.js';
import { type Command, limits, type ServerState } from './mongo-command-args.js';
import { Cursors, cursorCommands } from './mongo-cursor-commands.js';
import { CommandError, codes } from './mongo-errors.js';
import { checkFields, commandFields } from './mongo-fields.js';
import type { Document } from './mongo-query.js';
import { readCommands } from './mongo-read-commands.js';
import { checkNames, Store } from './mongo-store.js';
import { writeCommands } from './mongo-write-commands.js';

export { knownSizes, limits } from './mongo-command-args.js';

const ok: Command = () => ({ ok: 1 });

const buildInfo: Command = () => ({
  version: limits.version,
  gitVersion: 'ferry-mongo-test-server',
  versionArray: limits.version.split('.').map(Number).concat(0),
  bits: 64,
  maxBsonObjectSize: limits.maxBsonObjectSize,
  storageEngines: ['memory'],
  ok: 1,
});

// The test server has no users: every credential is wrong, as on a mongod without that user.
const authenticate: Command = () => {
  throw new CommandError(codes.AuthenticationFailed, 'AuthenticationFailed', 'Authentication failed.');
};

/** Every command but the handshake, by name. */
const commands: Readonly<Record<string, Command>> = {
  ping: ok,
  endSessions: ok,
  buildInfo,
  buildinfo: buildInfo,
  saslStart: authenticate,
  saslContinue: authenticate,
  authenticate,
  ...readCommands,
  ...writeCommands,
  ...cursorCommands,
  ...catalogCommands,
};

/**
 * The commands of the MongoDB test server: each takes the command document,
 * its database and the document sequences of its OP_MSG, and returns the
 * reply (or throws a CommandError that becomes `{ ok: 0, … }`).
 */
export class CommandHandler implements ServerState {
  readonly store = new Store();
  readonly cursors = new Cursors();

  run(cmd: Document, db: string, sequences: ReadonlyMap<string, Document[]>, connectionId: number): Document {
    const name = Object.keys(cmd)[0] ?? '';
    checkNames(db);
    const rules = commandFields[name];
    if (rules !== undefined) checkFields(name, cmd, rules, true);
    if (name === 'hello' || name === 'isMaster' || name === 'ismaster') return hello(name, connectionId);
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) {
      throw new CommandError(codes.CommandNotFound, 'CommandNotFound', `no such command: '${name}'`);
    }
    return command(this, cmd, db, sequences);
  }
}

function hello(name: string, connectionId: number): Document {
  return {
    helloOk: true,
    [name === 'hello' ? 'isWritablePrimary' : 'ismaster']: true,
    maxBsonObjectSize: limits.maxBsonObjectSize,
    maxMessageSizeBytes: limits.maxMessageSizeBytes,
    maxWriteBatchSize: limits.maxWriteBatchSize,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: limits.maxWireVersion,
    readOnly: false,
    ok: 1,
  };
}
