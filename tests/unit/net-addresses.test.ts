import { describe, it, expect } from 'vitest';
import {
  classifyAddress,
  isAllowed,
  isGloballyRoutable,
  parseCidr,
  parseCidrList,
  parseIp,
  parseIPv4,
  parseIPv6,
} from '../../src/domain/addresses.js';
import type { AddressKind, NetworkPolicy } from '../../src/domain/addresses.js';

const STRICT: NetworkPolicy = { allowPrivateNetwork: false, allowedNetworks: [] };

describe('parseIPv4', () => {
  it.each([
    ['0.0.0.0', [0, 0, 0, 0]],
    ['127.0.0.1', [127, 0, 0, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
  ])('parses %s', (text, bytes) => {
    expect(Array.from(parseIPv4(text) ?? [])).toEqual(bytes);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1..2.3',
    '1.2.3.4.',
    'a.b.c.d',
    ' 1.2.3.4',
  ])('refuses %j', (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });
});

describe('parseIPv6', () => {
  const hex = (bytes: Uint8Array | undefined): string | undefined =>
    bytes && Buffer.from(bytes).toString('hex');

  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::8:800:200c:417a', '20010db80000000000080800200c417a'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:127.0.0.1', '00000000000000000000ffff7f000001'],
    ['::ffff:7f00:1', '00000000000000000000ffff7f000001'],
    ['64:ff9b::10.0.0.1', '0064ff9b00000000000000000a000001'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['FE80::ABCD', 'fe80000000000000000000000000abcd'],
  ])('parses %s', (text, expected) => {
    expect(hex(parseIPv6(text))).toBe(expected);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::1',
    '::1.2.3',
    '1.2.3.4::',
    '1:2:3:4:5:6:7:8::',
    '1:2:3:4:5:6:7::8',
    ':1:2:3:4:5:6:7',
    'fe80::1%',
  ])('refuses %j', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });

  it('tells the families apart', () => {
    expect(parseIp('10.0.0.1')?.family).toBe(4);
    expect(parseIp('::1')?.family).toBe(6);
    expect(parseIp('example.com')).toBeUndefined();
    expect(parseIp('[::1]')).toBeUndefined();
  });
});

describe('isGloballyRoutable', () => {
  const refused: ReadonlyArray<readonly [string, AddressKind]> = [
    // IPv4
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff0e::101', 'multicast'],
    ['100::1', 'discard-only'],
    ['2001::1', 'teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'reserved'],
    ['2001:20::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['::2', 'ipv4-compatible'],
    ['::8.8.8.8', 'ipv4-compatible'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['4000::1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['::2:0:0:1', 'reserved'],
    // IPv4-mapped, NAT64 and 6to4 forms take the verdict of the IPv4 address inside
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['64:ff9b:1::10.0.0.1', 'private'],
    ['64:ff9b:1:0:7f:0:100:0', 'loopback'], // 127.0.0.1 at the /64 placement (RFC 6052)
    ['64:ff9b:1:abcd:ef01:2345:a9fe:a9fe', 'link-local'], // a /96 carved from the /48
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a00:1::', 'private'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:c0a8:101::1', 'private'],
  ];

  it.each(refused)('refuses %s (%s)', (ip, kind) => {
    expect(isGloballyRoutable(ip)).toBe(false);
    expect(classifyAddress(ip)?.kind).toBe(kind);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '126.255.255.255',
    '128.0.0.1',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.1',
    '192.0.3.1',
    '192.167.255.255',
    '192.169.0.1',
    '198.17.255.255',
    '198.20.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '2001:4860:4860::8888',
    '2001:3::1',
    '2003::1',
    '3ffe::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '64:ff9b:1::8.8.8.8',
    '64:ff9b:1:abcd:ef01:2345:808:808',
    '2002:808:808::1',
  ])('allows %s', (ip) => {
    expect(isGloballyRoutable(ip)).toBe(true);
    expect(classifyAddress(ip)).toBeUndefined();
  });

  it('refuses what it cannot parse', () => {
    expect(isGloballyRoutable('example.com')).toBe(false);
    expect(classifyAddress('1.2.3')?.kind).toBe('invalid');
  });

  it('names the cloud metadata address and the embedded IPv4 address', () => {
    expect(classifyAddress('169.254.169.254')?.description).toMatch(/metadata/);
    expect(classifyAddress('::ffff:127.0.0.1')?.description).toBe(
      'an IPv4-mapped form of 127.0.0.1, a loopback address',
    );
    expect(classifyAddress('2002:a00:1::')?.description).toMatch(/6to4 form of 10\.0\.0\.1/);
  });
});

describe('parseCidr / parseCidrList', () => {
  it('parses IPv4, IPv6 and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ family: 4, prefix: 8 });
    expect(parseCidr(' fd00::/8 ')).toMatchObject({ family: 6, prefix: 8 });
    expect(parseCidr('192.168.1.10')).toMatchObject({ family: 4, prefix: 32 });
    expect(parseCidr('::1')).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ family: 4, prefix: 0 });
  });

  it.each([
    ['10.0.0.0/33', /prefix length must be 0 to 32/],
    ['fd00::/129', /prefix length must be 0 to 128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/x', /prefix length/],
    ['10.0.0/8', /not an IP address/],
    ['example.com/24', /not an IP address/],
    ['10.1.2.3/8', /did you mean 10\.0\.0\.0\/8/],
    ['fd00::1/8', /did you mean fd00:0:0:0:0:0:0:0\/8/],
  ])('refuses %s', (text, message) => {
    expect(() => parseCidr(text)).toThrow(message);
  });

  it('splits, trims and skips blanks', () => {
    expect(parseCidrList('10.0.0.0/8, 192.168.0.0/16 ,,fd00::/8,')).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
      'fd00::/8',
    ]);
    expect(parseCidrList('')).toEqual([]);
  });

  it('names the bad entry and the variable', () => {
    expect(() => parseCidrList('10.0.0.0/8,300.0.0.0/8')).toThrow(
      /HERALD_ALLOWED_NETWORKS: "300\.0\.0\.0\/8" is not a CIDR/,
    );
  });
});

describe('isAllowed', () => {
  const allowList: NetworkPolicy = {
    allowPrivateNetwork: false,
    allowedNetworks: ['10.1.0.0/16', '127.0.0.0/8', 'fd00:1::/32'],
  };
  const lifted: NetworkPolicy = { allowPrivateNetwork: true, allowedNetworks: [] };

  it.each([
    // ip, strict, allow-list, lifted
    ['8.8.8.8', true, true, true],
    ['2606:4700:4700::1111', true, true, true],
    ['127.0.0.1', false, true, true],
    ['::ffff:127.0.0.1', false, true, true],
    ['::1', false, false, true],
    ['10.1.2.3', false, true, true],
    ['10.2.0.1', false, false, true],
    ['::ffff:10.1.2.3', false, true, true],
    ['::ffff:10.2.0.1', false, false, true],
    ['fd00:1::5', false, true, true],
    ['fd00:2::5', false, false, true],
    ['169.254.169.254', false, false, true],
    ['192.168.0.1', false, false, true],
    ['not-an-ip', false, false, false],
  ] as const)('%s: strict %s, allow-list %s, lifted %s', (ip, strict, listed, open) => {
    expect(isAllowed(ip, STRICT)).toBe(strict);
    expect(isAllowed(ip, allowList)).toBe(listed);
    expect(isAllowed(ip, lifted)).toBe(open);
  });

  it('throws on a policy with a bad CIDR', () => {
    expect(() =>
      isAllowed('10.0.0.1', { allowPrivateNetwork: false, allowedNetworks: ['x'] }),
    ).toThrow(/not a CIDR/);
  });
});
