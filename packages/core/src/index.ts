export {
  type ApiAllow,
  type ApiAllowConnection,
  apiAllowConnectionSchema,
  apiAllowSchema,
  connectionOnlyKeys,
  matchesName,
} from './api-allow.js';
export type { BenchEnd, BenchEndContext, HandRecord, HandWrite, OpenBenchEnd } from './bench-end.js';
export {
  type ConnectionSpec,
  configSchema,
  configSchemaFor,
  connectionSchema,
  type EndpointSpec,
  endpointSchema,
  type FerryConfig,
  type FerryConfigInput,
  type FlowSpec,
  type FlowSpecInput,
  flowSchema,
  getFlow,
  parseConfig,
  parseFlow,
  retrySchema,
} from './config.js';
export type {
  ConnectorDefinition,
  DeadLetterSummary,
  DestructiveUse,
  EndpointDescription,
  EndpointRole,
  Inspector,
  InspectSettings,
  ProbeResult,
  TypeTableRow,
} from './connector.js';
export type {
  DirectMove,
  DirectMoveResult,
  ReadOptions,
  RejectedRecord,
  Sink,
  SkippedFields,
  Source,
  SourceBatch,
  WriteOptions,
  WriteOutcome,
} from './contracts.js';
export { checkEdge, describeEdge, type Edge, type EdgeSystem, edgeMatrix, parseEdge } from './edges.js';
export { type EndpointTarget, sameTarget, serverAddress } from './endpoint-target.js';
export {
  ConfigError,
  ConnectionError,
  describeError,
  FatalError,
  FerryError,
  type FerryErrorOptions,
  isNetworkError,
  isTransient,
  LeaseLostError,
  mapErrors,
  RecordRejectedError,
  TransientError,
} from './errors.js';
export { deadLetterSummary, explainProbeFailure, inspectCall } from './inspect.js';
export {
  type BatchJournal,
  createMemoryJournal,
  type JournalEntry,
  parseJournalEntry,
  type ReaderNote,
} from './journal.js';
export { type JsonTypes, type JsonTypeTag, type JsonWithTypes, toJson } from './json.js';
export { type DecodeResult, decodeJsonBody, encodeJsonBody } from './json-body.js';
export {
  floatLiteral,
  floatText,
  isFloatLiteralExact,
  numberFromLiteral,
} from './json-number.js';
export { fromJson, JsonError, parseJsonTypes } from './json-reader.js';
export {
  createMemorySink,
  createMemorySource,
  type MemorySink,
  type MemorySinkOptions,
  type MemorySource,
} from './memory.js';
export { formatIssues, parseOptions } from './options.js';
export { createPump, type Pump } from './pump/pump.js';
export type { PumpOptions } from './pump/pump-options.js';
export { type BatchMoved, FlowFailedError, type PumpProgress, type PumpResult } from './pump/pump-progress.js';
export type { StopReason } from './pump/stop-rules.js';
export type { FerryRecord, RecordValue } from './record.js';
export { isRecordValue, rejectRecord, typesHeader } from './record.js';
export { type ConnectorRegistry, createConnectorRegistry } from './registry.js';
export {
  AbortedError,
  backoffDelay,
  defaultRetryPolicy,
  type RetryOptions,
  type RetryPolicy,
  sleep,
  withRetry,
  withTimeout,
} from './retry.js';
export {
  forgetSecrets,
  isSecretKey,
  maskError,
  maskSecrets,
  maskUrls,
  rememberSecrets,
  secretsOf,
  urlSecrets,
} from './secrets.js';
export type {
  FidelityEnd,
  FidelitySeed,
  FidelitySourceCase,
  HeldRecord,
  OpenTestEnd,
  PoisonEnd,
  TestEnd,
  TestEndContext,
} from './testing.js';
export { resolveTls, type TlsOptions, type TlsSettings, tlsSchema } from './tls.js';
export { clientCertificateHint, tlsProblem } from './tls-failure.js';
export {
  Decimal,
  describeKind,
  isScalarType,
  isValueObject,
  kindOf,
  pointerSegment,
  pointerSegments,
  Scalar,
  type ScalarType,
  sameValue,
  scalarTypes,
  setEntry,
  timestampFromText,
  type Value,
  ValueError,
  type ValueKind,
  type ValueObject,
  valueKinds,
} from './value.js';
export { withFree } from './with-free.js';
