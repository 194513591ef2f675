/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests
 * of what a /metrics answers: it throws, naming the line, on anything the
 * format does not allow, and checks what a scraper relies on (one TYPE per
 * family before its samples, samples of a family together, no sample twice,
 * counters not negative, a histogram's buckets cumulative up to `+Inf`, equal
 * to its `_count`, with a `_sum`).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ExpositionSample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ExpositionFamily {
  readonly name: string;
  readonly help?: string;
  readonly type: MetricType;
  readonly samples: readonly ExpositionSample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`not a sample value: ${JSON.stringify(line)}`);
  return Number(text);
}

/** `{a="x",b="y"}` from its start: the labels, and where the text after them begins. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const fail = (why: string): never => {
    throw new Error(`${why} at column ${i + 1}: ${JSON.stringify(line)}`);
  };
  if (line[i] === '}') return { labels, end: i + 1 };
  for (;;) {
    const eq = line.indexOf('=', i);
    if (eq === -1) fail('a label without a value');
    const name = line.slice(i, eq);
    if (!labelName.test(name)) fail(`a bad label name ${JSON.stringify(name)}`);
    if (name in labels) fail(`label ${name} twice`);
    if (line[eq + 1] !== '"') fail('a label value not in double quotes');
    let value = '';
    i = eq + 2;
    for (;;) {
      const c = line[i];
      if (c === undefined) fail('an unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail('an escape other than \\\\, \\" or \\n');
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    labels[name] = value;
    i += 1;
    if (line[i] === ',') i += 1;
    if (line[i] === '}') return { labels, end: i + 1 };
  }
}

/** The family a sample name belongs to, given the families typed so far. */
function familyOf(name: string, families: Map<string, { type: MetricType }>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

function checkHistogram(family: ExpositionFamily): void {
  const bySeries = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const series = bySeries.get(key) ?? { buckets: [] };
    bySeries.set(key, series);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${sample.name} without le`);
      series.buckets.push([parseValue(le, `le="${le}"`), sample.value]);
    } else if (le !== undefined) {
      throw new Error(`${sample.name} with an le label`);
    } else if (sample.name.endsWith('_sum')) {
      series.sum = sample.value;
    } else if (sample.name.endsWith('_count')) {
      series.count = sample.value;
    } else {
      throw new Error(`histogram ${family.name} has a sample ${sample.name}`);
    }
  }
  for (const [key, { buckets, sum, count }] of bySeries) {
    const where = `histogram ${family.name}${key === '[]' ? '' : ` ${key}`}`;
    if (sum === undefined || count === undefined) throw new Error(`${where} lacks its _sum or _count`);
    if (buckets.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where}: the last bucket is not le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      const [le, n] = buckets[i]!;
      const [prevLe, prevN] = buckets[i - 1]!;
      if (!(le > prevLe)) throw new Error(`${where}: bucket le="${le}" after le="${prevLe}"`);
      if (n < prevN) throw new Error(`${where}: bucket le="${le}" holds fewer (${n}) than le="${prevLe}" (${prevN})`);
    }
    if (buckets.at(-1)![1] !== count)
      throw new Error(`${where}: _count ${count} is not the +Inf bucket's ${buckets.at(-1)![1]}`);
  }
}

/** Reads an exposition into its families, by name, in the order they come; throws on anything not allowed. */
export function parseExposition(text: string): Map<string, ExpositionFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, { name: string; help?: string; type: MetricType; samples: ExpositionSample[] }>();
  const seen = new Set<string>();
  let current: string | undefined;
  const family = (name: string) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (m === null) continue; // any other comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!metricName.test(name)) throw new Error(`a bad metric name: ${JSON.stringify(line)}`);
      const f = family(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`HELP twice for ${name}`);
        if (/\\(?!n)/.test(rest.replace(/\\\\/g, ''))) throw new Error(`an escape other than \\\\ or \\n: ${line}`);
        f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (!types.has(rest)) throw new Error(`an unknown type: ${JSON.stringify(line)}`);
        if (f.samples.length > 0 || seen.has(`TYPE ${name}`))
          throw new Error(`TYPE of ${name} after its samples or twice`);
        seen.add(`TYPE ${name}`);
        f.type = rest as MetricType;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`not a sample: ${JSON.stringify(line)}`);
    const name = line.slice(0, nameEnd);
    if (!metricName.test(name)) throw new Error(`a bad metric name: ${JSON.stringify(line)}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, nameEnd);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    if (m === null) throw new Error(`not a sample: ${JSON.stringify(line)}`);
    const value = parseValue(m[1]!, line);
    const base = familyOf(name, families);
    if (current !== base && families.get(base)?.samples.length) throw new Error(`samples of ${base} apart: ${line}`);
    current = base;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`a sample twice: ${JSON.stringify(line)}`);
    seen.add(key);
    const f = family(base);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`a counter below zero: ${JSON.stringify(line)}`);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The value of one sample, by its name and labels (all of them); undefined when there is none. */
export function sampleValue(
  families: Map<string, ExpositionFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want) return s.value;
    }
  }
  return undefined;
}
