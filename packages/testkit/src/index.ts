export { makeTestCertificates, type TestCertificates } from './certificates.js';
export { writeDeadLetters } from './dead-letters.js';
export {
  type MongoTestServer,
  type MongoTestServerOptions,
  mongoUrl,
  startMongoTestServer,
  startTestMongo,
  type TestMongo,
} from './mongo-test-server.js';
export { startTlsTestMongo, type TlsTestMongo, tlsTestMongoSkipReason } from './mongo-tls.js';
export { redisUrl, uniqueName } from './names.js';
export { type TcpRelay, tcpRelay, unusedPort } from './net.js';
export {
  type ExpositionFamily,
  type ExpositionSample,
  type MetricType,
  parseExposition,
  sampleValue,
} from './prometheus-text.js';
export { sampleRecords, sampleValues } from './records.js';
export { type ServerCommand, startServerProcess, type TestServerProcess } from './server-process.js';
export { testTestEnd } from './test-end-suite.js';
export { type SinkSuiteOptions, testSink, type WrittenRecord } from './test-sink.js';
export { type SourceSuiteOptions, type SuiteContext, type SuiteHelpers, testSource } from './test-source.js';
export { startTlsRabbitMq } from './tls-rabbitmq.js';
export { type ClientCertificates, startTlsNats, startTlsRedis } from './tls-servers.js';
