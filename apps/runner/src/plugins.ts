import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type ConnectorDefinition, type ConnectorRegistry, describeError } from '@ferry/core';

/** The `plugins:` a config's raw input names; anything else there is the schema's to refuse. */
export function pluginNames(input: unknown): string[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [];
  const plugins = (input as { plugins?: unknown }).plugins;
  return Array.isArray(plugins) ? plugins.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}

const isPath = (name: string) => name.startsWith('./') || name.startsWith('../') || isAbsolute(name);

/** `@scope/pkg/sub` → [`@scope/pkg`, `./sub`]; `pkg` → [`pkg`, `.`]. */
function splitPackage(name: string): [string, string] {
  const parts = name.split('/');
  const count = name.startsWith('@') ? 2 : 1;
  const rest = parts.slice(count).join('/');
  return [parts.slice(0, count).join('/'), rest === '' ? '.' : `./${rest}`];
}

/** The file an `exports` target names for an importer: a string, the first match of a list, or a condition. */
function exportTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = exportTarget(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (target === null || typeof target !== 'object') return undefined;
  for (const [condition, value] of Object.entries(target)) {
    if (condition === 'import' || condition === 'node' || condition === 'default') {
      const found = exportTarget(value);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Where Node would find a package for a module of `from`: in a node_modules
 * folder from there upwards, through its `exports` (the import, node and
 * default conditions; no patterns) or its `main`. Undefined when not there.
 */
function findPackage(name: string, from: string): string | undefined {
  const [pkgName, subpath] = splitPackage(name);
  for (let dir = from; ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', ...pkgName.split('/'));
    const manifest = join(pkgDir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: string };
      if (pkg.exports !== undefined) {
        const exports = pkg.exports;
        const keyed =
          exports !== null && typeof exports === 'object' && !Array.isArray(exports)
            ? Object.keys(exports).some((k) => k.startsWith('.'))
            : false;
        const entry = keyed ? (exports as Record<string, unknown>)[subpath] : subpath === '.' ? exports : undefined;
        const target = exportTarget(entry);
        if (target === undefined) throw new Error(`package ${pkgName} does not export ${subpath}`);
        return join(pkgDir, target);
      }
      return join(pkgDir, subpath === '.' ? (pkg.main ?? 'index.js') : subpath);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** What a plug-in's name is imported as: a file next to the config, a package found from there, or from the runner. */
function moduleOf(name: string, base: string): string {
  if (isPath(name)) return pathToFileURL(resolve(base, name)).href;
  const found = findPackage(name, base);
  return found === undefined ? name : pathToFileURL(found).href;
}

function isDefinition(value: unknown): value is ConnectorDefinition {
  return value !== null && typeof value === 'object' && typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * The registry with the connectors a config's `plugins:` name, each loaded
 * (a dynamic import) before the config is checked: a path relative to the
 * config file's folder or absolute, or a package found from that folder or
 * from the runner, whose default export is a connector definition. A
 * plug-in that cannot be loaded, or is not a definition, is a ConfigError
 * that names it and says why.
 */
export async function loadPlugins(
  input: unknown,
  file: string | undefined,
  registry: ConnectorRegistry,
): Promise<ConnectorRegistry> {
  const names = pluginNames(input);
  if (names.length === 0) return registry;
  const base = file === undefined ? process.cwd() : dirname(resolve(file));
  const where = file === undefined ? 'plugins' : `plugins of ${file}`;
  let extended = registry;
  for (const name of names) {
    const problem = (why: string, cause?: unknown) =>
      new ConfigError(`[ferry] plug-in ${JSON.stringify(name)} (${where}): ${why}`, { cause });
    let loaded: { default?: unknown };
    try {
      loaded = (await import(moduleOf(name, base))) as { default?: unknown };
    } catch (error) {
      throw problem(`cannot be loaded: ${describeError(error)}`, error);
    }
    const definition = loaded.default;
    if (!isDefinition(definition)) {
      const got =
        definition === undefined
          ? 'it has no default export'
          : definition !== null && typeof definition === 'object'
            ? 'its default export has no kind'
            : `its default export is ${definition === null ? 'null' : `a ${typeof definition}`}`;
      throw problem(
        `is not a connector definition: expected a default export with kind, letter, createSource… (${got})`,
      );
    }
    try {
      extended = extended.with([definition]);
    } catch (error) {
      // The registry's reason, said once: `connector "x": letter S is already …'s`.
      throw problem(describeError(error).replace(/^\[ferry\] /, ''));
    }
  }
  return extended;
}
