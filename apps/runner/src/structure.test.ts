import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectorRegistry } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './connectors.js';

/**
 * The runner is composed from connector definitions: it names no connector
 * kind and imports no connector's driver, so that a new system is its
 * package plus one line in the registration file. Two places are exempt:
 * the registration file, which imports the connector packages, and
 * `control/`, the runner's own Redis (the control store is not a connector),
 * which may use ioredis and bullmq and name the kind of its default connection.
 */

const runnerDir = fileURLToPath(new URL('..', import.meta.url));
const registrationFile = 'src/connectors.ts';
const controlDir = 'src/control/';
/** The control store's client and queue: allowed in control/ only. */
const controlDrivers = ['ioredis', 'bullmq'];
/** What control/ may name: its default connection's kind. */
const controlKind = 'redis-stream';

export interface SourceFile {
  /** Relative to the runner's folder, with `/`: `src/http/api.ts`. */
  readonly path: string;
  readonly text: string;
}

export interface Rules {
  readonly kinds: readonly string[];
  readonly letters: readonly string[];
  /** Module names that are a connector's driver. */
  readonly drivers: readonly string[];
  /** The `@ferry/…` packages that hold a registered connector. */
  readonly connectorPackages: readonly string[];
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Every .ts and .tsx file under the runner's src and ui/src, tests excluded. */
function sourceFiles(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) {
        files.push({ path: relative(root, path).split(sep).join('/'), text: readFileSync(path, 'utf8') });
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'ui', 'src'));
  return files;
}

/** A package's folder, found the way Node finds it: in node_modules, from `from` upwards. */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find package ${name} from ${from}`);
  }
}

/**
 * The rules from the registered connectors: their kinds and letters, the
 * packages the registration file imports them from, and those packages'
 * dependencies other than ferry's own and zod: their drivers.
 */
export function rulesOf(registry: ConnectorRegistry, registration: string, root = runnerDir): Rules {
  const connectorPackages = [...registration.matchAll(/from\s+'(@ferry\/[^']+)'/g)]
    .map((m) => m[1]!)
    .filter((name) => name !== '@ferry/core');
  const drivers = new Set<string>();
  for (const name of connectorPackages) {
    const pkg = JSON.parse(readFileSync(join(packageDir(name, root), 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
      if (!dep.startsWith('@ferry/') && dep !== 'zod') drivers.add(dep);
    }
  }
  return {
    kinds: registry.kinds(),
    letters: registry.list().map((c) => c.letter),
    drivers: [...drivers].sort(),
    connectorPackages,
  };
}

/** `path:line: what`, one per finding, for every rule a file breaks. */
export function findViolations(files: readonly SourceFile[], rules: Rules): string[] {
  const found: string[] = [];
  for (const file of files) {
    const registering = file.path === registrationFile;
    const control = file.path.startsWith(controlDir);
    const lines = file.text.split('\n');
    for (const [i, line] of lines.entries()) {
      const at = `${file.path}:${i + 1}`;
      // The registration file's imports of connector packages are its job.
      const importsConnector = rules.connectorPackages.some((p) => line.includes(`'${p}'`));
      if (importsConnector && !registering) found.push(`${at}: imports a connector package: ${line.trim()}`);
      for (const kind of rules.kinds) {
        if (registering && importsConnector) continue;
        if (control && kind === controlKind) continue;
        // As a word of its own, quoted or not: 'mongo', "rabbitmq", redis-stream; not mongodb or clickhouseUrl.
        if (new RegExp(`(?<![\\w-])${escaped(kind)}(?![\\w-])`).test(line)) {
          found.push(`${at}: names the connector kind "${kind}": ${line.trim()}`);
        }
      }
      // Systems listed by their letters, each a string of its own: ['S', 'Q'], { 'M': … 'C': … }.
      const letters = rules.letters.filter((l) => new RegExp(`(['"\`])${escaped(l)}\\1`).test(line));
      if (letters.length > 1) found.push(`${at}: lists the systems by letter (${letters.join(', ')}): ${line.trim()}`);
      const modules = [...rules.drivers, ...(control ? [] : controlDrivers)];
      for (const driver of new Set(modules)) {
        if (control && controlDrivers.includes(driver)) continue;
        // A module name in quotes: an import, an export from, a dynamic import or a require.
        if (new RegExp(`(['"\`])${escaped(driver)}(\\/[^'"\`]*)?\\1`).test(line)) {
          found.push(`${at}: uses the driver ${driver}: ${line.trim()}`);
        }
      }
    }
  }
  return found;
}

const registry = createRegistry();
const rules = rulesOf(registry, readFileSync(join(runnerDir, registrationFile), 'utf8'));

describe('the runner names no connector kind and imports no driver', () => {
  it('derives its rules from the registered connectors and their packages', () => {
    expect(rules.kinds).toEqual(expect.arrayContaining(['redis-stream', 'rabbitmq', 'mongo', 'clickhouse']));
    expect(rules.drivers).toEqual(expect.arrayContaining(['@clickhouse/client', 'amqplib', 'ioredis', 'mongodb']));
    expect(rules.connectorPackages).toContain('@ferry/redis-stream');
  });

  it('finds each kind of breach, with its file and line', () => {
    const files: SourceFile[] = [
      { path: 'src/a.ts', text: "import { Redis } from 'ioredis';\nconst k = 'mongo';" },
      { path: 'src/b.ts', text: "// copy from rabbitmq\nconst c = await import('@clickhouse/client');" },
      { path: 'src/c.ts', text: "import { Queue } from 'bullmq';\nimport { x } from '@ferry/redis-stream';" },
      { path: 'ui/src/d.tsx', text: "const letters = ['S', 'Q'];" },
      { path: 'src/control/e.ts', text: "import { Redis } from 'ioredis';\nconst kind = 'redis-stream';" },
      { path: 'src/control/f.ts', text: 'import { MongoClient } from \'mongodb\';\nconst k = "clickhouse";' },
      { path: registrationFile, text: "import { mongoConnector } from '@ferry/mongo';\nimport 'amqplib';" },
      // Not breaches: another word that starts like a kind, a URL scheme, a title.
      { path: 'src/g.ts', text: "const url = 'mongodb://h'; const clickhouseUrl = 1; // MongoDB, Redis Streams" },
      { path: 'ui/src/h.tsx', text: "const path = (i === 0 ? 'M' : 'L') + x;" },
    ];
    expect(findViolations(files, rules).map((v) => v.replace(/: .*$/, ''))).toEqual([
      'src/a.ts:1',
      'src/a.ts:2',
      'src/b.ts:1',
      'src/b.ts:2',
      'src/b.ts:2',
      'src/c.ts:1',
      'src/c.ts:2',
      'src/c.ts:2',
      'ui/src/d.tsx:1',
      'src/control/f.ts:1',
      'src/control/f.ts:2',
      `${registrationFile}:2`,
    ]);
  });

  it('holds for every file of src and ui/src', () => {
    const root = process.env.FERRY_STRUCTURE_ROOT ?? runnerDir;
    expect(findViolations(sourceFiles(root), rules)).toEqual([]);
  });
});
