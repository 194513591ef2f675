import { startTestMongo } from '@ferry/testkit/mongo-test-server';

/**
 * One MongoDB for the whole run: MONGO_URL when given, else a mongod on PATH,
 * else the in-repo test server. The test files find it in MONGO_URL, and
 * which it is in FERRY_TEST_MONGO_KIND (the TLS tests run on the test server's TLS mode).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const mongo = await startTestMongo();
  process.env.MONGO_URL = mongo.url;
  process.env.FERRY_TEST_MONGO_KIND = mongo.kind;
  return () => mongo.close();
}
