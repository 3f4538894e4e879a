import { uniquePrefix as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  defaults,
  Etcd,
  type EtcdOptions,
  InvalidArgumentError,
  type ResolvedOptions,
} from '../src/index.js';

const t = useEtcd();

/** The InvalidArgumentError `new Etcd(options)` throws, or a failure when it throws nothing. */
function refused(options: unknown): InvalidArgumentError {
  try {
    const etcd = new Etcd(options as EtcdOptions);
    void etcd.close();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new InvalidArgumentError(`new Etcd(${JSON.stringify(options)}) was accepted`);
}

describe('options are checked when the client is made', () => {
  it('endpoints: strings of host:port or http(s)://host:port, never mixed schemes', () => {
    expect(refused({ endpoints: [42] }).message).toMatch(/^endpoints\[0\] must be a non-empty string/);
    expect(refused({ endpoints: [''] }).message).toMatch(/endpoints\[0\] must be a non-empty string/);
    expect(refused({ endpoints: [] }).message).toMatch(/endpoints must name at least one endpoint/);
    expect(refused({ endpoints: ',' }).message).toMatch(/endpoints must name at least one endpoint/);
    expect(refused({ endpoints: 42 }).message).toMatch(
      /^endpoints must be an array of strings or one comma-separated/,
    );
    expect(refused({ endpoints: ['ftp://a:1'] }).message).toMatch(
      /endpoints\[0\] "ftp:\/\/a:1" is not a valid etcd endpoint \(scheme/,
    );
    expect(refused({ endpoints: ['a:99999'] }).message).toMatch(
      /port "99999" is not a number from 1 to 65535/,
    );
    expect(refused({ endpoints: ['a:x'] }).message).toMatch(/port "x"/);
    expect(refused({ endpoints: ['http://a:1/v3'] }).message).toMatch(/has a path/);
    expect(refused({ endpoints: 'a:1, b:2:3' }).message).toMatch(/endpoints\[1\] "b:2:3"/);
    expect(refused({ endpoints: ['http://a:1', 'https://b:1'] }).message).toMatch(
      /mix http:\/\/ and https:\/\//,
    );
    // Accepted forms.
    const r: ResolvedOptions = defaults({ endpoints: ' a:1 , http://b:2/ ,[::1]:3, c ' });
    expect(r.endpoints).toEqual(['a:1', 'http://b:2/', '[::1]:3', 'c']);
  });

  it('ETCD_ENDPOINTS is checked too, and named in the error', () => {
    const before = process.env.ETCD_ENDPOINTS;
    process.env.ETCD_ENDPOINTS = 'a:1,gopher://b:2';
    try {
      expect(refused({}).message).toMatch(/^ETCD_ENDPOINTS\[1\] "gopher:\/\/b:2"/);
    } finally {
      if (before === undefined) delete process.env.ETCD_ENDPOINTS;
      else process.env.ETCD_ENDPOINTS = before;
    }
  });

  it('unknown option names are refused (a typo must not pass silently)', () => {
    expect(refused({ endpoint: ['a:1'] }).message).toMatch(
      /unknown option "endpoint" \(did you mean "endpoints"\?\); accepted: endpoints, tls/,
    );
    expect(refused({ tls: { certificate: 'x' } }).message).toMatch(/^tls: unknown option "certificate"/);
    expect(refused({ auth: { user: 'a', password: 'b' } }).message).toMatch(/^auth: unknown option "user"/);
    expect(refused(null).message).toMatch(/Etcd options must be an object/);
  });

  it('tls and auth have their shapes', () => {
    expect(refused({ tls: 'yes' }).message).toMatch(
      /^tls must be an object \{ ca\?, cert\?, key\?, serverName\? \}/,
    );
    expect(refused({ tls: { ca: 5 } }).message).toMatch(/^tls.ca must be PEM text/);
    expect(refused({ tls: { cert: 'x' } }).message).toMatch(/tls.cert and tls.key go together/);
    expect(refused({ tls: { serverName: '' } }).message).toMatch(/tls.serverName must be a non-empty string/);
    expect(refused({ auth: 'root:pw' }).message).toMatch(/^auth must be an object \{ username, password \}/);
    expect(refused({ auth: { username: '', password: 'x' } }).message).toMatch(
      /auth.username must be a non-empty/,
    );
    expect(refused({ auth: { username: 'u' } }).message).toMatch(/auth.password must be a string/);
    expect(refused({ namespace: 5 }).message).toMatch(/^namespace must be a string/);
    expect(defaults({ tls: { ca: Buffer.from('x') }, auth: { username: 'u', password: '' } }).auth).toEqual({
      username: 'u',
      password: '',
    });
  });

  it('timeouts and intervals: finite, > 0, within the timer limit', () => {
    for (const name of [
      'dialTimeoutMs',
      'requestTimeoutMs',
      'keepaliveTimeMs',
      'keepaliveTimeoutMs',
      'autoSyncIntervalMs',
    ] as const) {
      for (const bad of [Number.NaN, -5, 0, Number.POSITIVE_INFINITY, 2 ** 31, '100'])
        expect(refused({ [name]: bad }).message, `${name}: ${String(bad)}`).toMatch(
          new RegExp(`^${name} must be a number of milliseconds > 0 and <= 2147483647`),
        );
      expect(defaults({ [name]: 2 ** 31 - 1 })[name]).toBe(2 ** 31 - 1);
    }
    expect(refused({ leaseSafetyMarginMs: -1 }).message).toMatch(
      /^leaseSafetyMarginMs must be a number of milliseconds >= 0/,
    );
    expect(defaults({ leaseSafetyMarginMs: 0 }).leaseSafetyMarginMs).toBe(0);
  });

  it('counts: whole numbers in range', () => {
    expect(refused({ retries: -1 }).message).toMatch(
      /^retries must be a whole number from 0 to 1000, got -1/,
    );
    expect(refused({ retries: 1.5 }).message).toMatch(/^retries must be a whole number/);
    expect(refused({ maxRequestBytes: 0 }).message).toMatch(/^maxRequestBytes must be a whole number from 1/);
    expect(refused({ maxRequestBytes: Number.NaN }).message).toMatch(/^maxRequestBytes/);
    expect(refused({ watchHighWaterMark: 0 }).message).toMatch(
      /^watchHighWaterMark must be a whole number from 1/,
    );
    expect(refused({ watchStreamIdleMs: -1 }).message).toMatch(
      /^watchStreamIdleMs must be a whole number from 0/,
    );
    expect(refused({ watchStreamIdleMs: 2 ** 31 }).message).toMatch(/^watchStreamIdleMs/);
    expect(defaults({}).watchStreamIdleMs).toBe(30_000);
    expect(defaults({ watchStreamIdleMs: 0 }).watchStreamIdleMs).toBe(0);
    expect(defaults({ retries: 0 }).retries).toBe(0);
  });

  it('a client made with checked options works against a real etcd', async () => {
    const [endpoint] = t.server.endpoints;
    const etcd = t.client({ endpoints: ` http://${endpoint!.replace(/^https?:\/\//, '')}/ ,`, retries: 0 });
    const key = uniq('options');
    await etcd.put(key, 'v');
    expect((await etcd.get(key))?.value.toString()).toBe('v');
  });
});
