export { type Env, interpolateEnv, loadConfigFile, parseConfigText, readConfigInput } from './config-file.js';
export { type BuiltFlow, buildFlow, endpointOptions, type FlowCheck, validateConfig } from './flow-builder.js';
export { endpointIdentity, flowIdentity, withReader } from './flow-identity.js';
export { type FlowReader, type FlowReaderOptions, openFlowReader } from './flow-reader.js';
export { createRedisJournal, type JournalPlace, journalHashKey, journalPlace, legacyJournalKey } from './journal.js';
export { type CliIo, exitCodes, formatError, main } from './main.js';
export {
  createProgressReporter,
  describeStop,
  formatProgress,
  formatResult,
  type ProgressReporter,
} from './progress.js';
export { acquireReaderLease, type ReaderLease } from './reader-lease.js';
export { type ConnectorRegistry, createRegistry, installedConnectors } from './registry.js';
export {
  applyFlowOverrides,
  inferKind,
  oneOffConfigInput,
  parseKeyValue,
  type RunFlagValues,
  type RunTarget,
  resolveRunTarget,
  UsageError,
} from './run-args.js';
export { type RunFlowOptions, runFlow } from './run-flow.js';
