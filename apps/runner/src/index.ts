export { type CliIo, exitCodes } from './cli/command.js';
export { formatError } from './cli/errors.js';
export { main } from './cli/main.js';
export {
  createProgressReporter,
  describeStop,
  formatProgress,
  formatResult,
  type ProgressReporter,
} from './cli/progress.js';
export {
  applyFlowOverrides,
  inferKind,
  oneOffConfigInput,
  parseKeyValue,
  type RunFlagValues,
  type RunTarget,
  resolveRunTarget,
  UsageError,
} from './cli/run-args.js';
export {
  type Env,
  interpolateEnv,
  type LoadedConfig,
  loadConfig,
  loadConfigFile,
  parseConfigText,
  readConfigInput,
} from './config-file.js';
export { createRegistry, installedConnectors } from './connectors.js';
export { type FlowReader, type FlowReaderOptions, openFlowReader } from './control/flow-reader.js';
export { type ControlStore, defaultConnection } from './control/index.js';
export {
  createRedisJournal,
  type JournalPlace,
  journalHashKey,
  journalPlace,
  legacyJournalKey,
} from './control/journal.js';
export { acquireReaderLease, type ReaderLease } from './control/reader-lease.js';
export {
  type BuiltFlow,
  buildFlow,
  buildPlanned,
  type FlowCheck,
  type FlowPlan,
  planFlow,
  validateConfig,
} from './jobs/flow-builder.js';
export { endpointOptions } from './jobs/flow-endpoints.js';
export { endpointIdentity, flowIdentity, withReader } from './jobs/flow-identity.js';
export { type RunFlowOptions, runFlow } from './jobs/run-flow.js';
export { loadPlugins } from './plugins.js';
