import { describe, expect, it } from 'vitest';
import { escapeLabel, renderMetrics } from './metrics.js';

/** One line of the text format: a comment, or `name{labels} value`. */
const sampleLine =
  /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|NaN|\+Inf|-Inf))$/;

describe('metrics text', () => {
  it('renders HELP, TYPE and samples, escaping label values', () => {
    const text = renderMetrics([
      {
        name: 'ferry_records_moved_total',
        help: 'Records moved.',
        type: 'counter',
        samples: [
          { labels: { flow: 'a"b\\c\nd', edge: 'S2S' }, value: 12 },
          { labels: { flow: 'x', edge: 'Q2S' }, value: 0.5 },
        ],
      },
      { name: 'ferry_up', help: 'Up.', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
    ]);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toEqual([
      '# HELP ferry_records_moved_total Records moved.',
      '# TYPE ferry_records_moved_total counter',
      'ferry_records_moved_total{flow="a\\"b\\\\c\\nd",edge="S2S"} 12',
      'ferry_records_moved_total{flow="x",edge="Q2S"} 0.5',
      '# HELP ferry_up Up.',
      '# TYPE ferry_up gauge',
      'ferry_up 1',
    ]);
    for (const line of lines) expect(line).toMatch(sampleLine);
  });

  it('escapes backslash, quote and newline', () => {
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});
