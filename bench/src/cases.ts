import { api } from './api.js';
import type { BenchCase } from './bench-case.js';
import { edgeCases } from './edges.js';
import { s2s } from './s2s.js';

/** Every case by its command-line name, in the order of the table. */
export const cases: Readonly<Record<string, BenchCase>> = Object.fromEntries(
  [s2s, ...edgeCases, api].map((bench) => [bench === api ? 'api' : bench.edge.toLowerCase(), bench]),
);
