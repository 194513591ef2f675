// The demo behind `npm run demo`: fills the source stream, runs the flow s2s-demo
// with the built `ferry` command line, and shows both streams' lengths before and after.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = fileURLToPath(new URL('..', import.meta.url));
// biome-ignore lint/suspicious/noUndeclaredEnvVars: the demo runs outside turbo
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const source = 'STREAM.test.test.stream_in';
const target = 'STREAM.test.test.stream_out';
const total = 10_000;
const maxLen = 100_000; // the sink's maxLen in examples/ferry.yaml

const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
await redis.connect();

const lengths = async (when) => {
  const [inLen, outLen] = await Promise.all([redis.xlen(source), redis.xlen(target)]);
  console.log(`${when.padEnd(7)} ${source} = ${inLen}, ${target} = ${outLen}`);
  return { inLen, outLen };
};

await redis.del(source);
// With the target near its maxLen the flow would wait for room forever: start it afresh.
if ((await redis.xlen(target)) + total > maxLen) {
  console.log(`${target} is near its maxLen (${maxLen}); deleting it first`);
  await redis.del(target);
}

// Small JSON dicts, as the original worker's callers wrote them; one stream field per key.
for (let start = 0; start < total; start += 1000) {
  const pipeline = redis.pipeline();
  for (let i = start; i < Math.min(total, start + 1000); i++) {
    pipeline.xadd(source, '*', 'id', String(i), 'name', `msg-${i}`, 'ts', String(Date.now()), 'tags', '["demo","s2s"]');
  }
  await pipeline.exec();
}
console.log(`wrote ${total} messages to ${source}`);
const before = await lengths('before:');

const run = spawnSync(
  process.execPath,
  ['apps/runner/dist/cli/cli.js', 'run', 'examples/ferry.yaml', 's2s-demo', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

const after = await lengths('after:');
await redis.quit();

if (run.status !== 0) {
  console.error(`demo: ferry run exited with ${run.status ?? run.signal}`);
  process.exit(run.status ?? 1);
}
const moved = after.outLen - before.outLen;
if (after.inLen !== 0 || moved !== total) {
  console.error(`demo: expected ${source} empty and ${total} more in ${target}, got ${after.inLen} and ${moved}`);
  process.exit(1);
}
console.log(`demo ok: ${source} is empty, ${target} has ${moved} more messages`);
