import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, parseDuration, parseTtl } from '../src/durations.js';
import { UsageError } from '../src/errors.js';

describe('duration flags', () => {
  it('takes plain seconds and Go durations as etcdctl does', () => {
    const cases: [string, number][] = [
      ['10', 10_000],
      ['1.5', 1_500],
      ['.5', 500],
      ['500ms', 500],
      ['2s', 2_000],
      ['1m', 60_000],
      ['1m30s', 90_000],
      ['1h2m3.5s', 3_723_500],
      ['1.5h', 5_400_000],
      ['250us', 0.25],
      ['250µs', 0.25],
      ['1500000ns', 1.5],
      ['0', 0],
      [' 2s ', 2_000],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text, 'timeout', 'lock'), text).toBeCloseTo(ms, 9);
  });

  it('rejects what Go would not take, and what no timer can wait for', () => {
    for (const text of ['', 'soon', '1x', '1m30', 'm', '-1s', '1 m', '1e3', '1s-', 'Infinity', 'NaN'])
      expect(() => parseDuration(text, 'timeout', 'lock'), text).toThrow(
        /--timeout takes a duration such as 10, 1.5, 500ms, 2s or 1m30s/,
      );
    expect(parseDuration(`${MAX_DURATION_MS}ms`, 'timeout', 'lock')).toBe(MAX_DURATION_MS);
    expect(() => parseDuration('25d', 'timeout', 'lock')).toThrow(UsageError); // Go has no days either
    for (const text of ['600h', '2147484s', '2147483648ms'])
      expect(() => parseDuration(text, 'timeout', 'lock'), text).toThrow(/--timeout must be at most 24 days/);
  });

  it('keeps lease TTLs to whole seconds', () => {
    expect(parseTtl('1m', 'ttl', 'elect')).toBe(60);
    expect(parseTtl('1m30s', 'ttl', 'elect')).toBe(90);
    expect(() => parseTtl('1500ms', 'ttl', 'elect')).toThrow(/whole number of seconds/);
  });
});
