// IP address parsing and the "may Herald connect here?" rule of the SSRF guard (SPEC §5).
// Pure: no DNS, no sockets. Parsing is strict on purpose: the only inputs are canonical forms
// (WHATWG URL host serialisation, getaddrinfo results, operator-written CIDRs), and anything
// unusual is refused rather than guessed at.

/** Server-wide guard settings; fixed at start-up. */
export interface NetworkPolicy {
  /** `--allow-private-network` / `HERALD_ALLOW_PRIVATE_NETWORK=1`: the guard is lifted. */
  readonly allowPrivateNetwork: boolean;
  /** `HERALD_ALLOWED_NETWORKS`: CIDRs allowed even though they are not globally routable. */
  readonly allowedNetworks: readonly string[];
  /** `HERALD_ALLOW_PLAIN_HTTP`: plain `http://` may reach public addresses too. */
  readonly allowPlainHttp?: boolean;
}

export interface ParsedIp {
  readonly family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array;
}

export interface Cidr extends ParsedIp {
  readonly prefix: number;
}

export type AddressKind =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared' // carrier-grade NAT, 100.64.0.0/10
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'benchmarking'
  | 'documentation'
  | 'teredo'
  | 'discard-only'
  | 'site-local'
  | 'ipv4-compatible';

/** Why an address is not globally routable, phrased for an error message. */
export interface NonRoutable {
  readonly kind: AddressKind;
  /** e.g. "a loopback address"; reads well after "127.0.0.1 is" or "resolves to 127.0.0.1,". */
  readonly description: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Strict dotted-quad: four decimal parts 0-255, no leading zeros (which some stacks read as octal). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39) return undefined;
    if (digits > 0 && value === 0) return undefined;
    value = value * 10 + (c - 0x30);
    if (value > 255) return undefined;
    digits++;
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = value;
  return out;
}

/** Parses hex groups separated by ':' into `out` at `at`; the last may be dotted IPv4. */
function parseGroups(text: string, out: Uint8Array, at: number, allowV4Tail: boolean): number {
  if (text === '') return at;
  const groups = text.split(':');
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (allowV4Tail && g === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4(group);
      if (v4 === undefined || at + 4 > 16) return -1;
      out.set(v4, at);
      return at + 4;
    }
    if (group.length === 0 || group.length > 4 || at + 2 > 16) return -1;
    let word = 0;
    for (let i = 0; i < group.length; i++) {
      const digit = hexValue(group.charCodeAt(i));
      if (digit < 0) return -1;
      word = (word << 4) | digit;
    }
    out[at++] = word >> 8;
    out[at++] = word & 0xff;
  }
  return at;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** RFC 4291 text forms, including `::` and a trailing dotted IPv4; a `%zone` suffix is ignored. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (zone === text.length - 1) return undefined;
    text = text.slice(0, zone);
  }
  const out = new Uint8Array(16);
  const gap = text.indexOf('::');
  if (gap === -1) {
    return parseGroups(text, out, 0, true) === 16 ? out : undefined;
  }
  if (text.indexOf('::', gap + 1) !== -1) return undefined;
  const head = text.slice(0, gap);
  const tail = text.slice(gap + 2);
  const headEnd = parseGroups(head, out, 0, false);
  if (headEnd < 0) return undefined;
  const tailBytes = new Uint8Array(16);
  const tailEnd = parseGroups(tail, tailBytes, 0, true);
  // `::` stands for at least one zero group.
  if (tailEnd < 0 || headEnd + tailEnd > 14) return undefined;
  out.set(tailBytes.subarray(0, tailEnd), 16 - tailEnd);
  return out;
}

/** An IPv4 or IPv6 literal (IPv6 without brackets), or undefined. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    return bytes === undefined ? undefined : { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes === undefined ? undefined : { family: 4, bytes };
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * `10.0.0.0/8`, `fd00::/8`, or a bare address (a single host). Host bits beyond the prefix are
 * refused: `10.1.2.3/8` is almost always a typo, and silently widening it would be worse.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const ip = parseIp(addressText);
  if (ip === undefined) {
    throw new Error(`"${trimmed}" is not a CIDR: "${addressText}" is not an IP address`);
  }
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
      throw new Error(`"${trimmed}" is not a CIDR: the prefix length must be 0 to ${max}`);
    }
    prefix = Number(prefixText);
  }
  const network = maskTo(ip.bytes, prefix);
  if (!network.every((byte, i) => byte === ip.bytes[i])) {
    const suggestion = `${formatNetwork(ip.family, network)}/${prefix}`;
    throw new Error(
      `"${trimmed}" has bits set after the /${prefix} prefix; did you mean ${suggestion}?`,
    );
  }
  return { family: ip.family, bytes: network, prefix };
}

function maskTo(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function formatNetwork(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return formatIPv4(bytes);
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // Not RFC 5952-compressed; only used to suggest a correction in an error message.
  return words.join(':');
}

/**
 * Validates `HERALD_ALLOWED_NETWORKS`: comma-separated CIDRs, blanks ignored. Returns the entries
 * trimmed, ready for `NetworkPolicy.allowedNetworks`; throws naming the first bad entry.
 */
export function parseCidrList(text: string): string[] {
  const entries: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    try {
      parseCidr(entry);
    } catch (err) {
      throw new Error(`HERALD_ALLOWED_NETWORKS: ${(err as Error).message}`);
    }
    entries.push(entry);
  }
  return entries;
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  return prefixMatches(ip.bytes, 0, cidr.bytes, cidr.prefix);
}

function prefixMatches(
  bytes: Uint8Array,
  offset: number,
  net: Uint8Array,
  prefix: number,
): boolean {
  let i = 0;
  for (; prefix >= 8; prefix -= 8, i++) {
    if (bytes[offset + i] !== net[i]) return false;
  }
  if (prefix === 0) return true;
  const mask = (0xff << (8 - prefix)) & 0xff;
  return ((bytes[offset + i]! ^ net[i]!) & mask) === 0;
}

// ---------------------------------------------------------------------------------------------
// Classification

interface Range {
  readonly cidr: Cidr;
  readonly verdict: NonRoutable;
}

const DESCRIPTIONS: Record<AddressKind, string> = {
  invalid: 'not an IP address',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  shared: 'a carrier-grade NAT (shared) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking address',
  documentation: 'a documentation address',
  teredo: 'a Teredo tunnel address',
  'discard-only': 'a discard-only address',
  'site-local': 'a deprecated site-local address',
  'ipv4-compatible': 'a deprecated IPv4-compatible address',
};

function verdict(kind: AddressKind): NonRoutable {
  return { kind, description: DESCRIPTIONS[kind] };
}

function ranges(list: ReadonlyArray<readonly [string, AddressKind]>): Range[] {
  return list.map(([text, kind]) => ({ cidr: parseCidr(text), verdict: verdict(kind) }));
}

const INVALID = verdict('invalid');
const METADATA: NonRoutable = {
  kind: 'link-local',
  description: 'a link-local address (the cloud metadata service)',
};
const METADATA_V4 = Uint8Array.of(169, 254, 169, 254);

// IANA IPv4 special-purpose registry, narrowest first where ranges nest.
const V4_RANGES = ranges([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  // 192.0.0.0/24 holds a couple of anycast exceptions; refusing the whole block fails closed.
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

// IPv6 ranges that are not simply "outside 2000::/3"; embedded-IPv4 forms are handled separately.
const V6_RANGES = ranges([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'ipv4-compatible'],
  ['100::/64', 'discard-only'],
  ['2001::/32', 'teredo'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'reserved'], // ORCHID
  ['2001:20::/28', 'reserved'], // ORCHIDv2
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);

const GLOBAL_UNICAST = parseCidr('2000::/3');
const MAPPED = parseCidr('::ffff:0:0/96');
const NAT64 = parseCidr('64:ff9b::/96');
const NAT64_LOCAL = parseCidr('64:ff9b:1::/48');
const SIX_TO_FOUR = parseCidr('2002::/16');
const RESERVED = verdict('reserved');

function classifyV4(bytes: Uint8Array, offset: number): NonRoutable | undefined {
  for (const range of V4_RANGES) {
    if (prefixMatches(bytes, offset, range.cidr.bytes, range.cidr.prefix)) {
      if (range.verdict.kind === 'link-local' && prefixMatches(bytes, offset, METADATA_V4, 32)) {
        return METADATA;
      }
      return range.verdict;
    }
  }
  return undefined;
}

/** The verdict for an IPv6 form that carries an IPv4 address, judged by that IPv4 address. */
function embedded(form: string, bytes: Uint8Array, offset: number): NonRoutable | undefined {
  const inner = classifyV4(bytes, offset);
  if (inner === undefined) return undefined;
  return {
    kind: inner.kind,
    description: `${form} form of ${formatIPv4(bytes, offset)}, ${inner.description}`,
  };
}

// RFC 6052 §2.2: where a NAT64 prefix of each length puts the IPv4 address, and where the
// (zero) suffix starts. The operator's prefix length inside 64:ff9b:1::/48 is unknown: the /96
// placement (the usual one) is always checked, the shorter ones when their suffix is all zero,
// so any plausible reading that reaches a non-routable host refuses the address.
const NAT64_LOCAL_PLACEMENTS: ReadonlyArray<{ readonly at: readonly number[]; suffix: number }> = [
  { at: [12, 13, 14, 15], suffix: 16 }, // /96
  { at: [9, 10, 11, 12], suffix: 13 }, // /64 (byte 8 is the reserved u-octet)
  { at: [7, 9, 10, 11], suffix: 12 }, // /56
  { at: [6, 7, 9, 10], suffix: 11 }, // /48
];

function classifyNat64Local(bytes: Uint8Array): NonRoutable | undefined {
  for (const { at, suffix } of NAT64_LOCAL_PLACEMENTS) {
    if (!bytes.subarray(suffix).every((byte) => byte === 0)) continue;
    const found = embedded(
      'a local-use NAT64',
      Uint8Array.from(at, (i) => bytes[i]!),
      0,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

function classifyV6(bytes: Uint8Array): NonRoutable | undefined {
  // Forms that reach an IPv4 host are as good or as bad as that host.
  if (prefixMatches(bytes, 0, MAPPED.bytes, 96)) return embedded('an IPv4-mapped', bytes, 12);
  if (prefixMatches(bytes, 0, NAT64.bytes, 96)) return embedded('a NAT64', bytes, 12);
  if (prefixMatches(bytes, 0, NAT64_LOCAL.bytes, 48)) return classifyNat64Local(bytes);
  if (prefixMatches(bytes, 0, SIX_TO_FOUR.bytes, 16)) return embedded('a 6to4', bytes, 2);
  for (const range of V6_RANGES) {
    if (prefixMatches(bytes, 0, range.cidr.bytes, range.cidr.prefix)) return range.verdict;
  }
  // Everything outside the global unicast space is unallocated or special-purpose.
  return prefixMatches(bytes, 0, GLOBAL_UNICAST.bytes, 3) ? undefined : RESERVED;
}

function toParsed(ip: string | ParsedIp): ParsedIp | undefined {
  return typeof ip === 'string' ? parseIp(ip) : ip;
}

/** Why `ip` is not globally routable, or undefined when it is. Unparseable input is refused. */
export function classifyAddress(ip: string | ParsedIp): NonRoutable | undefined {
  const parsed = toParsed(ip);
  if (parsed === undefined) return INVALID;
  return parsed.family === 4 ? classifyV4(parsed.bytes, 0) : classifyV6(parsed.bytes);
}

export function isGloballyRoutable(ip: string | ParsedIp): boolean {
  return classifyAddress(ip) === undefined;
}

// ---------------------------------------------------------------------------------------------
// Policy

// Keyed by the policy's array so each list is parsed once, however often addresses are checked.
const compiledNetworks = new WeakMap<readonly string[], readonly Cidr[]>();

/** The policy's allowed networks, parsed (and validated: throws on a bad entry). */
export function allowedCidrs(policy: NetworkPolicy): readonly Cidr[] {
  let cidrs = compiledNetworks.get(policy.allowedNetworks);
  if (cidrs === undefined) {
    cidrs = policy.allowedNetworks.map(parseCidr);
    compiledNetworks.set(policy.allowedNetworks, cidrs);
  }
  return cidrs;
}

/** Whether `ip` is inside one of the policy's allowed networks (IPv4-mapped forms included). */
export function inAllowedNetworks(ip: string | ParsedIp, policy: NetworkPolicy): boolean {
  const parsed = toParsed(ip);
  if (parsed === undefined) return false;
  const cidrs = allowedCidrs(policy);
  if (cidrs.length === 0) return false;
  // ::ffff:10.0.0.1 is the same host as 10.0.0.1, so an IPv4 allow-list entry covers it.
  const mappedV4: ParsedIp | undefined =
    parsed.family === 6 && prefixMatches(parsed.bytes, 0, MAPPED.bytes, 96)
      ? { family: 4, bytes: parsed.bytes.subarray(12) }
      : undefined;
  for (const cidr of cidrs) {
    if (cidrContains(cidr, parsed)) return true;
    if (mappedV4 !== undefined && cidrContains(cidr, mappedV4)) return true;
  }
  return false;
}

/** Why the policy refuses `ip`, or undefined when Herald may connect to it. */
export function refusalReason(
  ip: string | ParsedIp,
  policy: NetworkPolicy,
): NonRoutable | undefined {
  const parsed = toParsed(ip);
  if (parsed === undefined) return INVALID;
  if (policy.allowPrivateNetwork) return undefined;
  const reason = classifyAddress(parsed);
  if (reason === undefined || inAllowedNetworks(parsed, policy)) return undefined;
  return reason;
}

export function isAllowed(ip: string | ParsedIp, policy: NetworkPolicy): boolean {
  return refusalReason(ip, policy) === undefined;
}
