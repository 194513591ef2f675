import { ConfigError } from './errors.js';

/** The four systems of the stack, by the letter that names them in an edge. */
export const systems = {
  S: { letter: 'S', kind: 'redis-stream', title: 'Redis Streams' },
  Q: { letter: 'Q', kind: 'rabbitmq', title: 'RabbitMQ' },
  M: { letter: 'M', kind: 'mongo', title: 'MongoDB' },
  C: { letter: 'C', kind: 'clickhouse', title: 'ClickHouse' },
} as const;

export type SystemLetter = keyof typeof systems;
export type ConnectionKind = (typeof systems)[SystemLetter]['kind'];

export const systemLetters = Object.keys(systems) as SystemLetter[];
export const connectionKinds = systemLetters.map((letter) => systems[letter].kind);

/** An ordered pair of systems, source first: `S2S`, `Q2C`, `M2S`… */
export interface Edge {
  readonly name: string;
  readonly from: SystemLetter;
  readonly to: SystemLetter;
  readonly allowed: boolean;
  /** Why a refused edge is refused, and what to do instead. */
  readonly reason?: string;
}

const stores = new Set<SystemLetter>(['M', 'C']);

function refusal(from: SystemLetter, to: SystemLetter): string | undefined {
  if (from === to || !stores.has(from) || !stores.has(to)) return undefined;
  return (
    `${systems[from].title} and ${systems[to].title} are both stores and do not exchange data directly; ` +
    `move the data through a queue instead: ${from}2S then S2${to}, or ${from}2Q then Q2${to}`
  );
}

export function letterOfKind(kind: string): SystemLetter {
  const letter = systemLetters.find((l) => systems[l].kind === kind);
  if (letter === undefined) {
    throw new ConfigError(`[ferry] unknown connection kind "${kind}": expected one of ${connectionKinds.join(', ')}`);
  }
  return letter;
}

export function describeEdge(from: SystemLetter, to: SystemLetter): Edge {
  const reason = refusal(from, to);
  return reason === undefined
    ? { name: `${from}2${to}`, from, to, allowed: true }
    : { name: `${from}2${to}`, from, to, allowed: false, reason };
}

/** Every ordered pair of systems, permitted or not: 16 edges, 14 of them permitted. */
export function edgeMatrix(): Edge[] {
  return systemLetters.flatMap((from) => systemLetters.map((to) => describeEdge(from, to)));
}

/** The edge between two systems, or a ConfigError that says why it is refused. */
export function checkEdge(from: SystemLetter, to: SystemLetter): Edge {
  const edge = describeEdge(from, to);
  if (!edge.allowed) throw new ConfigError(`[ferry] edge ${edge.name} is not permitted: ${edge.reason}`);
  return edge;
}

/** Parses an edge name such as `s2q` or `M2C`; refused edges throw with the reason. */
export function parseEdge(name: string): Edge {
  const match = /^([SQMC])2([SQMC])$/i.exec(name.trim());
  if (match === null) {
    throw new ConfigError(
      `[ferry] "${name}" is not an edge: expected two of ${systemLetters.join(', ')} joined by 2, such as S2Q`,
    );
  }
  return checkEdge(match[1]!.toUpperCase() as SystemLetter, match[2]!.toUpperCase() as SystemLetter);
}
