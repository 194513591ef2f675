import { ConfigError } from './errors.js';

/** What an edge needs of a system: its letter, its name, and whether records rest there. */
export interface EdgeSystem {
  readonly letter: string;
  readonly kind: string;
  readonly title: string;
  readonly holds: 'store' | 'stream';
}

/** An ordered pair of systems, source first: `S2S`, `Q2C`, `M2S`… */
export interface Edge {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly allowed: boolean;
  /** Why a refused edge is refused, and what to do instead. */
  readonly reason?: string;
}

/** Two different stores do not exchange data directly: the way between them is through a stream or a queue. */
function refusal(from: EdgeSystem, to: EdgeSystem, systems: readonly EdgeSystem[]): string | undefined {
  if (from === to || from.holds !== 'store' || to.holds !== 'store') return undefined;
  const ways = systems
    .filter((s) => s.holds === 'stream')
    .map((s) => `${from.letter}2${s.letter} then ${s.letter}2${to.letter}`);
  return (
    `${from.title} and ${to.title} are both stores and do not exchange data directly; ` +
    `move the data through a queue instead: ${ways.join(', or ')}`
  );
}

export function describeEdge(from: EdgeSystem, to: EdgeSystem, systems: readonly EdgeSystem[]): Edge {
  const name = `${from.letter}2${to.letter}`;
  const reason = refusal(from, to, systems);
  return reason === undefined
    ? { name, from: from.letter, to: to.letter, allowed: true }
    : { name, from: from.letter, to: to.letter, allowed: false, reason };
}

/** Every ordered pair of the systems, permitted or not, sources in the systems' order. */
export function edgeMatrix(systems: readonly EdgeSystem[]): Edge[] {
  return systems.flatMap((from) => systems.map((to) => describeEdge(from, to, systems)));
}

/** The edge between two systems, or a ConfigError that says why it is refused. */
export function checkEdge(from: EdgeSystem, to: EdgeSystem, systems: readonly EdgeSystem[]): Edge {
  const edge = describeEdge(from, to, systems);
  if (!edge.allowed) throw new ConfigError(`[ferry] edge ${edge.name} is not permitted: ${edge.reason}`);
  return edge;
}

/** Parses an edge name such as `s2q` or `M2C`; refused edges throw with the reason. */
export function parseEdge(name: string, systems: readonly EdgeSystem[]): Edge {
  const match = /^([A-Z])2([A-Z])$/i.exec(name.trim());
  const system = (letter: string | undefined) => systems.find((s) => s.letter === letter?.toUpperCase());
  const from = system(match?.[1]);
  const to = system(match?.[2]);
  if (from === undefined || to === undefined) {
    throw new ConfigError(
      `[ferry] "${name}" is not an edge: expected two of ${systems.map((s) => s.letter).join(', ')} joined by 2, such as S2Q`,
    );
  }
  return checkEdge(from, to, systems);
}
