import { describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from './prometheus-text.js';

const histogram = (buckets: string, sum = '1.5', count = '3') =>
  [
    '# HELP h_seconds Latency.',
    '# TYPE h_seconds histogram',
    ...buckets.split(' ').map((b) => {
      const [le, n] = b.split('=');
      return `h_seconds_bucket{flow="f",le="${le}"} ${n}`;
    }),
    `h_seconds_sum{flow="f"} ${sum}`,
    `h_seconds_count{flow="f"} ${count}`,
    '',
  ].join('\n');

describe('parseExposition', () => {
  it('reads families with HELP, TYPE, escaped labels and blank lines between them', () => {
    const text = [
      '# HELP c_total Things\\\\ counted.\\nTwo lines.',
      '# TYPE c_total counter',
      'c_total{flow="a\\"b\\\\c\\nd",edge="S2S"} 12',
      '',
      '# HELP g Up.',
      '# TYPE g gauge',
      'g 1',
      '',
    ].join('\n');
    const families = parseExposition(text);
    expect([...families.keys()]).toEqual(['c_total', 'g']);
    expect(families.get('c_total')).toMatchObject({ type: 'counter', help: 'Things\\ counted.\nTwo lines.' });
    expect(sampleValue(families, 'c_total', { flow: 'a"b\\c\nd', edge: 'S2S' })).toBe(12);
    expect(sampleValue(families, 'g')).toBe(1);
  });

  it('takes a histogram whose buckets add up', () => {
    const families = parseExposition(histogram('0.1=1 1=2 +Inf=3'));
    expect(families.get('h_seconds')?.samples).toHaveLength(5);
    expect(sampleValue(families, 'h_seconds_count', { flow: 'f' })).toBe(3);
  });

  it.each([
    ['no newline at the end', 'g 1', /newline/],
    ['a bad name', '1g 1\n', /not a sample|bad metric name/],
    ['an unquoted label', 'g{a=b} 1\n', /double quotes/],
    ['a bad escape', 'g{a="\\t"} 1\n', /escape/],
    ['a bad value', 'g 1,5\n', /not a sample/],
    ['a sample twice', 'g{a="x"} 1\ng{a="x"} 2\n', /twice/],
    ['TYPE after samples', 'g 1\n# TYPE g gauge\n', /TYPE of g/],
    ['samples apart', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="y"} 2\n', /apart/],
    ['a negative counter', '# TYPE c_total counter\nc_total -1\n', /below zero/],
    ['buckets that shrink', histogram('0.1=2 1=1 +Inf=3'), /fewer/],
    ['no +Inf bucket', histogram('0.1=1 1=3'), /\+Inf/],
    ['a count apart from +Inf', histogram('0.1=1 +Inf=3', '1', '4'), /_count 4/],
    ['bounds out of order', histogram('1=1 0.1=2 +Inf=3'), /after/],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseExposition(text)).toThrow(message);
  });
});
