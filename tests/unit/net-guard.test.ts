import { describe, it, expect } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { ValidationError } from '../../src/errors.js';
import type { NetworkPolicy } from '../../src/domain/addresses.js';
import {
  DESTINATION_BLOCKED,
  checkDestination,
  createGuardedLookup,
  isDestinationBlocked,
} from '../../src/net/guard.js';
import type { LookupAll, Resolver } from '../../src/net/guard.js';
import { createTargetCache } from '../../src/net/targets.js';

const STRICT: NetworkPolicy = { allowPrivateNetwork: false, allowedNetworks: [] };
const LISTED: NetworkPolicy = { allowPrivateNetwork: false, allowedNetworks: ['10.0.0.0/8'] };
const LIFTED: NetworkPolicy = { allowPrivateNetwork: true, allowedNetworks: [] };
const PLAIN: NetworkPolicy = {
  allowPrivateNetwork: false,
  allowedNetworks: [],
  allowPlainHttp: true,
};

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

// A fake DNS: the tests below never touch the network.
const ZONE: Record<string, LookupAddress[]> = {
  'public.test': [v4('93.184.215.14'), v6('2606:2800:21f:cb07:6820:80da:af6b:8b2c')],
  'mixed.test': [v4('93.184.215.14'), v4('10.0.0.7')],
  'internal.test': [v4('10.0.0.7')],
  'metadata.test': [v4('169.254.169.254')],
  'mapped.test': [v6('::ffff:127.0.0.1')],
};

const resolve: Resolver = async (host) => {
  const found = ZONE[host];
  if (found) return found;
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

const lookupAll: LookupAll = (host, _options, callback) => {
  resolve(host).then(
    (addresses) => callback(null, [...addresses]),
    (err: NodeJS.ErrnoException) => callback(err, []),
  );
};

async function refusal(url: string, policy: NetworkPolicy): Promise<ValidationError> {
  const err: unknown = await checkDestination(url, policy, resolve).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ValidationError)) throw new Error(`expected a refusal for ${url}`);
  return err;
}

describe('checkDestination', () => {
  it.each([
    ['https://public.test/hook', STRICT],
    ['https://93.184.215.14/hook', STRICT],
    ['https://[2606:4700:4700::1111]/hook', STRICT],
    ['http://internal.test/hook', LISTED],
    ['http://10.1.2.3:8080/hook', LISTED],
    ['http://internal.test/hook', LIFTED],
    ['http://metadata.test/', LIFTED],
    ['http://public.test/', LIFTED],
    // A name that does not resolve yet: its deliveries fail and retry until it does, and every
    // connection is checked again then (SPEC §4.1).
    ['https://nowhere.test/hook', STRICT],
    ['http://nowhere.test/hook', LIFTED],
    ['http://nowhere.test/hook', PLAIN],
    ['http://public.test/hook', PLAIN],
    ['http://93.184.215.14/hook', PLAIN],
  ] as const)('accepts %s', async (url, policy) => {
    await expect(checkDestination(url, policy, resolve)).resolves.toBeUndefined();
  });

  it.each([
    ['not a url', /not a valid absolute URL/],
    ['ftp://public.test/file', /https:\/\/.*not ftp:/],
    ['javascript:alert(1)', /not javascript:/],
    ['https://user:pw@public.test/', /credentials/],
    ['https://user@public.test/', /credentials/],
  ])('refuses %s as invalid_url', async (url, message) => {
    const err = await refusal(url, STRICT);
    expect(err.code).toBe('invalid_url');
    expect(err.message).toMatch(message);
  });

  it.each([
    ['https://mixed.test/', /mixed\.test resolves to 10\.0\.0\.7, a private-network address/],
    ['https://metadata.test/', /169\.254\.169\.254, a link-local address \(the cloud metadata/],
    ['https://mapped.test/', /IPv4-mapped form of 127\.0\.0\.1, a loopback address/],
    ['https://127.0.0.1/', /127\.0\.0\.1 is a loopback address/],
    ['https://[::1]/', /::1 is a loopback address/],
    ['https://[fe80::1]/', /link-local/],
    ['https://100.64.1.1/', /carrier-grade NAT/],
    ['http://public.test/', /must be reached over https:\/\/.*HERALD_ALLOW_PLAIN_HTTP/],
    ['http://93.184.215.14/', /must be reached over https:\/\/.*HERALD_ALLOW_PLAIN_HTTP/],
    ['http://nowhere.test/', /must be reached over https:\/\/.*HERALD_ALLOW_PLAIN_HTTP/],
  ])('refuses %s as destination_not_allowed', async (url, message) => {
    const err = await refusal(url, STRICT);
    expect(err.code).toBe('destination_not_allowed');
    expect(err.message).toMatch(message);
  });

  it('tells the operator how to lift the guard', async () => {
    const err = await refusal('https://internal.test/', STRICT);
    expect(err.message).toMatch(/--allow-private-network/);
    expect(err.message).toMatch(/HERALD_ALLOWED_NETWORKS/);
  });

  it('accepts a name whatever stops it resolving now (a DNS server down, no address yet)', async () => {
    for (const code of ['EAI_AGAIN', 'ESERVFAIL', 'ENODATA']) {
      const failing: Resolver = () => Promise.reject(Object.assign(new Error(code), { code }));
      await expect(
        checkDestination('https://later.test/', STRICT, failing),
      ).resolves.toBeUndefined();
    }
    await expect(
      checkDestination('https://later.test/', STRICT, async () => []),
    ).resolves.toBeUndefined();
  });

  it('keeps refusing non-public addresses with plain http allowed', async () => {
    for (const [url, message] of [
      ['http://internal.test/', /private-network/],
      ['http://127.0.0.1/', /loopback/],
      ['http://metadata.test/', /link-local/],
    ] as const) {
      const err = await refusal(url, PLAIN);
      expect(err.code).toBe('destination_not_allowed');
      expect(err.message).toMatch(message);
    }
  });

  it('refuses plain http to a public host even when other networks are allow-listed', async () => {
    const err = await refusal('http://public.test/', LISTED);
    expect(err.code).toBe('destination_not_allowed');
  });
});

describe('createGuardedLookup', () => {
  function run(
    lookup: ReturnType<typeof createGuardedLookup>,
    host: string,
    all: boolean,
  ): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
    return new Promise((done) =>
      lookup(host, { all }, (err, address, family) => done({ err, address, family })),
    );
  }

  it('returns the checked addresses, honouring options.all', async () => {
    const lookup = createGuardedLookup(STRICT, { lookupAll });
    expect(await run(lookup, 'public.test', true)).toMatchObject({
      err: null,
      address: ZONE['public.test'],
    });
    expect(await run(lookup, 'public.test', false)).toMatchObject({
      err: null,
      address: '93.184.215.14',
      family: 4,
    });
  });

  it('refuses when any address is not allowed', async () => {
    const lookup = createGuardedLookup(STRICT, { lookupAll });
    const { err } = await run(lookup, 'mixed.test', true);
    expect(err?.code).toBe(DESTINATION_BLOCKED);
    expect(isDestinationBlocked(err)).toBe(true);
    expect(err?.message).toMatch(/mixed\.test resolves to 10\.0\.0\.7/);
  });

  it('applies the plain-http rule when asked to', async () => {
    const https = createGuardedLookup(LISTED, { lookupAll });
    const http = createGuardedLookup(LISTED, { lookupAll, plainHttp: true });
    expect((await run(https, 'public.test', true)).err).toBeNull();
    expect((await run(http, 'public.test', true)).err?.code).toBe(DESTINATION_BLOCKED);
    expect((await run(http, 'internal.test', true)).err).toBeNull();
  });

  it('lets plain http reach public addresses, and only those, with HERALD_ALLOW_PLAIN_HTTP', async () => {
    const http = createGuardedLookup(PLAIN, { lookupAll, plainHttp: true });
    expect((await run(http, 'public.test', true)).err).toBeNull();
    expect((await run(http, 'internal.test', true)).err?.code).toBe(DESTINATION_BLOCKED);
  });

  it('passes DNS errors through', async () => {
    const lookup = createGuardedLookup(STRICT, { lookupAll });
    expect((await run(lookup, 'nowhere.test', false)).err?.code).toBe('ENOTFOUND');
  });

  it('finds a refusal wrapped by fetch', () => {
    const inner = Object.assign(new Error('blocked'), { code: DESTINATION_BLOCKED });
    expect(isDestinationBlocked(new TypeError('fetch failed', { cause: inner }))).toBe(true);
    expect(isDestinationBlocked(new Error('other'))).toBe(false);
  });
});

describe('send-time check of IP literals (targets)', () => {
  it('lets plain http reach a public literal only with HERALD_ALLOW_PLAIN_HTTP', () => {
    expect(createTargetCache(STRICT).get('http://93.184.215.14/hook').refusal).toMatch(
      /HERALD_ALLOW_PLAIN_HTTP/,
    );
    expect(createTargetCache(PLAIN).get('http://93.184.215.14/hook').refusal).toBeUndefined();
    expect(createTargetCache(PLAIN).get('http://10.0.0.1/hook').refusal).toMatch(/private/);
  });
});
