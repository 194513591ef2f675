import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { ferry, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// A connector from outside the repository, named in a config's `plugins:`: a
// plain .mjs file that imports nothing of ferry's (it could not: it lives in
// the system's temp folder), a store of JSON lines files in a folder, letter
// F, read in file order from a checkpoint kept beside each file.
const filesysConnector = String.raw`
import { access, appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the factories take: the connection's url (file:///a/folder) and the endpoint's file name. */
function parse(options) {
  const { url, file } = options ?? {};
  if (typeof url !== 'string' || !url.startsWith('file:')) throw new Error('[filesys] url: expected a file:// URL of a folder');
  if (typeof file !== 'string' || !/^[\w.-]+$/.test(file)) throw new Error('[filesys] file: expected a file name (letters, digits, . _ -)');
  const dir = fileURLToPath(url);
  return { dir, file, path: join(dir, file + '.jsonl'), checkpoint: join(dir, file + '.offset') };
}

const lines = async (path) => {
  const text = await readFile(path, 'utf8').catch((error) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  return text.split('\n').filter((line) => line !== '');
};

/** Any value passes: the factories check their options themselves. */
const anything = { safeParse: (data) => ({ success: true, data }), parse: (data) => data };

export default {
  kind: 'filesys',
  letter: 'F',
  title: 'Files',
  schemes: ['file:'],
  holds: 'store',
  options: { source: anything, sink: anything },
  dataPlaneKeys: { source: ['file'], sink: ['file'] },
  createSource(options) {
    const o = parse(options);
    let offset = 0;
    return {
      name: 'filesys source ' + o.file,
      async open() {
        offset = Number((await readFile(o.checkpoint, 'utf8').catch(() => '0')).trim()) || 0;
      },
      async read(max) {
        const all = await lines(o.path);
        const taken = all.slice(offset, offset + max);
        const records = taken.map((line, i) => ({
          id: o.file + '@' + (offset + i),
          value: JSON.parse(line),
          readAt: Date.now(),
          bytes: line.length,
        }));
        return { records, handle: offset + taken.length };
      },
      async ack(batch) {
        // The checkpoint moves only once the batch is written: a crash before reads it again.
        await writeFile(o.checkpoint + '.tmp', String(batch.handle));
        await rename(o.checkpoint + '.tmp', o.checkpoint);
        offset = batch.handle;
      },
      async release() {},
      async backlog() {
        return (await lines(o.path)).length - offset;
      },
      async close() {},
    };
  },
  createSink(options) {
    const o = parse(options);
    return {
      name: 'filesys sink ' + o.file,
      async open() {
        await access(o.dir);
      },
      async free() {
        return Number.POSITIVE_INFINITY;
      },
      async write(records) {
        const text = records.map((r) => JSON.stringify({ ...r.value, _source_id: r.id }) + '\n').join('');
        await appendFile(o.path, text);
      },
      async close() {},
    };
  },
  target(role, options) {
    const o = parse(options);
    return { server: 'file://' + o.dir, name: 'file "' + o.file + '"' };
  },
  describeEndpoint(role, options) {
    const o = parse(options);
    return { what: 'file', name: o.file, singleReader: role === 'source' };
  },
  inspect(options) {
    const dir = fileURLToPath(options.url);
    return {
      async probe() {
        await access(dir);
        return { detail: 'folder readable' };
      },
      async depth(endpoint) {
        return (await lines(parse(endpoint).path)).length;
      },
      async close() {},
    };
  },
};
`;

const streams = new TestStreams();
const dir = mkdtempSync(join(tmpdir(), 'ferry-plugin-'));
const data = join(dir, 'data');
const prefixes: string[] = [];
let server: FerryProcess | undefined;

/** A config in the plug-in's folder, so that a relative plug-in path is relative to it, not to ferry's cwd. */
function config(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const rows = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({ name: `file-row-${i}`, city: i % 2 === 0 ? 'Oslo' : 'Kyiv' }),
  );

beforeAll(() => {
  mkdirSync(data);
  writeFileSync(join(dir, 'filesys-connector.mjs'), filesysConnector);
  // The same file as a package beside the config: found as `ferry-filesys` from the config's folder.
  const pkg = join(dir, 'node_modules', 'ferry-filesys');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({ name: 'ferry-filesys', type: 'module', exports: { '.': { import: './index.mjs' } } }),
  );
  writeFileSync(join(pkg, 'index.mjs'), filesysConnector);
});

afterAll(async () => {
  await server?.stop(5000);
  for (const p of prefixes) await dropPrefix(p);
  await streams.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('a connector plug-in from outside the repository', () => {
  it('runs F2S with ferry run: every line of the file lands in the stream once, the checkpoint moves', async () => {
    writeFileSync(join(data, 'in.jsonl'), `${rows(250).join('\n')}\n`);
    const out = streams.name('plugin.f2s');
    const file = config('run.yaml', [
      'plugins: ["./filesys-connector.mjs"]',
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  files: { kind: filesys, url: "${pathToFileURL(data).href}" }`,
      'flows:',
      `  f2s: { source: { connection: files, file: in }, sink: { stream: ${out} }, batchSize: 100 }`,
    ]);

    const validate = await ferry(['validate', file]);
    expect(validate.stdout + validate.stderr).toBe('ok: 1 flow (f2s F2S)\n');
    const edges = await ferry(['edges', '--config', file]);
    // A store: to and from M and C only through a stream; systems registered after C add columns before F's own.
    expect(edges.stdout).toMatch(/^F {8}F2S \* {4}F2Q \* {4}refused {2}refused {2}.*F2F \*$/m);
    expect(edges.stdout).toMatch(/^ {2}F {2}Files \(kind filesys, a store\)$/m);
    const systems = edges.stdout.match(/^ {2}[A-Z] {2}.*\(kind [a-z-]+, a (store|stream)\)$/gm) ?? [];
    const stores = systems.filter((line) => line.endsWith('a store)')).length;
    expect(stores).toBeGreaterThanOrEqual(3);
    expect(edges.stdout).toContain(
      `${systems.length ** 2 - stores * (stores - 1)} of ${systems.length ** 2} edges permitted`,
    );

    const run = await ferry(['run', file, 'f2s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ flow: 'f2s', edge: 'F2S', records: 250, batches: 3 });
    const entries = await streams.entries(out);
    expect(entries).toHaveLength(250);
    expect(entries[0]).toMatchObject({ name: 'file-row-0', city: 'Oslo', _source_id: 'in@0' });
    expect(entries[249]).toMatchObject({ name: 'file-row-249', city: 'Kyiv', _source_id: 'in@249' });
    expect(readFileSync(join(data, 'in.offset'), 'utf8')).toBe('250');

    // Run again: nothing left past the checkpoint.
    const again = await ferry(['run', file, 'f2s', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ records: 0, stopReason: 'empty' });
    expect(await streams.len(out)).toBe(250);

    const doctor = await ferry(['doctor', file]);
    expect(doctor.stdout).toMatch(/^files\s+filesys\s+file:\/\/\S+\s+ok\s+-\s+folder readable$/m);
  });

  it('runs S2F as a job of ferry serve, the plug-in found as a package from the config folder', async () => {
    const from = streams.name('plugin.s2f');
    await streams.seed(from, 120);
    const prefix = uniquePrefix('plugin');
    prefixes.push(prefix);
    const file = config('serve.yaml', [
      'plugins: [ferry-filesys]',
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  files: { kind: filesys, url: "${pathToFileURL(data).href}" }`,
    ]);
    server = await startFerry('serve', ['--config', file, '--prefix', prefix]);
    const api = apiClient(server.url, server.token);

    const edges = (await (await api.get('/edges')).json()) as { systems: { letter: string; kind: string }[] };
    // The shipped systems first, the plug-in's after them.
    const letters = edges.systems.map((s) => s.letter);
    expect(letters.slice(0, 4)).toEqual(['S', 'Q', 'M', 'C']);
    expect(letters.at(-1)).toBe('F');

    const submitted = await api.post('/flows', {
      name: 's2f',
      source: { stream: from, mode: 'range' },
      sink: { connection: 'files', file: 'out' },
      batchSize: 50,
    });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const job = await api.waitFor(id);
    expect(job).toMatchObject({ state: 'completed', result: { records: 120, batches: 3, stopReason: 'empty' } });

    const written = readFileSync(join(data, 'out.jsonl'), 'utf8').trimEnd().split('\n');
    expect(written).toHaveLength(120);
    expect(JSON.parse(written[0]!)).toMatchObject({ n: '0', name: 'msg-0', tags: '["e2e"]' });
    expect(JSON.parse(written[119]!)).toMatchObject({ n: '119', name: 'msg-119' });
    expect(await streams.len(from)).toBe(0);

    // The plug-in checks its options as a built-in connector does: a bad one is a 400 naming the field.
    const refused = await api.post('/flows', { source: { stream: from }, sink: { connection: 'files', file: '../x' } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/sink: \[filesys\] file: expected a file name/);
  });

  it('refuses a plug-in that cannot be loaded or is not a definition, naming it, with exit 2', async () => {
    writeFileSync(join(dir, 'not-a-connector.mjs'), 'export default { hello: "world" };\n');
    const missing = config('missing.yaml', ['plugins: ["./nowhere.mjs"]', 'connections: {}']);
    const notOne = config('not-one.yaml', ['plugins: ["./not-a-connector.mjs"]', 'connections: {}']);
    const unknownPackage = config('unknown-package.yaml', ['plugins: [ferry-no-such-plugin]', 'connections: {}']);

    const a = await ferry(['validate', missing]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(
      /plug-in "\.\/nowhere\.mjs" \(plugins of .*missing\.yaml\): cannot be loaded: .*nowhere\.mjs/,
    );
    const b = await ferry(['run', notOne, 'x']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/plug-in "\.\/not-a-connector\.mjs" .*: is not a connector definition/);
    const c = await ferry(['serve', '--config', unknownPackage, '--port', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/plug-in "ferry-no-such-plugin" .*: cannot be loaded: .*ferry-no-such-plugin/);

    // Without its plug-in, the config's kind is unknown: the registered kinds are named.
    const without = config('without.yaml', [
      'connections:',
      `  files: { kind: filesys, url: "${pathToFileURL(data).href}" }`,
    ]);
    const d = await ferry(['doctor', without]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/connections\.files\.kind: .*"redis-stream".*"clickhouse".*\(got "filesys"\)/);
  });
});
