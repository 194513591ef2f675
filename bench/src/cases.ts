import { api } from './api.js';
import type { BenchCase } from './bench-case.js';
import { edgeCases } from './edges.js';
import { s2s, s2sClient, s2sScript } from './s2s.js';

/** Every case by its command-line name, in the order of the table. */
export const cases: Readonly<Record<string, BenchCase>> = {
  s2s,
  's2s-client': s2sClient,
  's2s-script': s2sScript,
  ...Object.fromEntries(edgeCases.map((bench) => [bench.edge.toLowerCase(), bench])),
  api,
};
