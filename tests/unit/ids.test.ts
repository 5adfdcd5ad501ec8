import { describe, it, expect } from 'vitest';
import { ID_PREFIX, idTimeBound, newId, parseId, timeOfId } from '../../src/domain/ids.js';
import type { IdKind } from '../../src/domain/ids.js';

const KINDS = Object.keys(ID_PREFIX) as IdKind[];
const NOW = Date.UTC(2024, 5, 1, 12, 0, 0, 123);
/** Crockford base32: digits and upper-case letters without I, L, O and U. */
const BODY = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$/;

describe('newId', () => {
  it.each([
    ['account', 'acc_'],
    ['apiKey', 'key_'],
    ['endpoint', 'ep_'],
    ['event', 'evt_'],
    ['delivery', 'dlv_'],
    ['attempt', 'att_'],
    ['operational', 'op_'],
  ] as const)('gives %s ids the prefix %j', (kind, prefix) => {
    expect(ID_PREFIX[kind]).toBe(prefix);
    const id = newId(kind, NOW);
    expect(id.startsWith(prefix)).toBe(true);
    expect(id).toHaveLength(prefix.length + 26);
    expect(BODY.test(id.slice(prefix.length))).toBe(true);
  });

  it('has one prefix per kind, none a prefix of another', () => {
    const prefixes = Object.values(ID_PREFIX);
    expect(new Set(prefixes).size).toBe(KINDS.length);
    for (const a of prefixes) {
      for (const b of prefixes) if (a !== b) expect(b.startsWith(a)).toBe(false);
    }
  });

  it('encodes the time in the first 10 characters after the prefix', () => {
    expect(newId('event', 0).slice(4, 14)).toBe('0000000000');
    expect(newId('event', 1).slice(4, 14)).toBe('0000000001');
    expect(newId('event', 31).slice(4, 14)).toBe('000000000Z');
    expect(newId('event', 32).slice(4, 14)).toBe('0000000010');
    expect(newId('event', 2 ** 50 - 1).slice(4, 14)).toBe('ZZZZZZZZZZ');
  });

  it('defaults the time to the clock', () => {
    const before = newId('delivery', Date.now() - 1);
    const id = newId('delivery');
    const after = newId('delivery', Date.now() + 1);
    expect(before.slice(0, 14) <= id.slice(0, 14)).toBe(true);
    expect(id.slice(0, 14) <= after.slice(0, 14)).toBe(true);
  });

  it('makes 100 000 distinct ids in the same millisecond', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(newId('event', NOW));
    expect(ids.size).toBe(100_000);
  });
});

describe('ordering', () => {
  const times = [
    0,
    1,
    2,
    9,
    10,
    31,
    32,
    33,
    1023,
    1024,
    Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    Date.UTC(2000, 0, 1),
    NOW - 1,
    NOW,
    NOW + 1,
    NOW + 1000,
    Date.UTC(2100, 0, 1),
    2 ** 50 - 1,
  ];

  it.each(KINDS)('sorts %s ids made at increasing times increasingly as strings', (kind) => {
    const ids = times.map((t) => newId(kind, t));
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });

  it('sorts a long run of consecutive milliseconds', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newId('delivery', NOW + i));
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('parseId', () => {
  it.each(KINDS)('accepts a fresh %s id', (kind) => {
    const id = newId(kind, NOW);
    expect(parseId(kind, id)).toBe(id);
  });

  it.each(KINDS)('refuses ids of every other kind as a %s id', (kind) => {
    for (const other of KINDS) {
      if (other !== kind) expect(parseId(kind, newId(other, NOW))).toBeUndefined();
    }
  });

  const good = newId('endpoint', NOW);
  const body = good.slice(3);

  it.each([
    ['an empty string', ''],
    ['the prefix alone', 'ep_'],
    ['no prefix', body],
    ['an upper-case prefix', `EP_${body}`],
    ['a missing underscore', `ep${body}`],
    ['one character short', good.slice(0, -1)],
    ['one character long', `${good}0`],
    ['lower case', `ep_${body.toLowerCase()}`],
    ['an I', `ep_${body.slice(0, -1)}I`],
    ['an L', `ep_${body.slice(0, -1)}L`],
    ['an O', `ep_${body.slice(0, -1)}O`],
    ['a U', `ep_${body.slice(0, -1)}U`],
    ['a dash', `ep_${body.slice(0, -1)}-`],
    ['a leading space', ` ${good}`],
    ['a trailing newline', `${good}\n`],
    ['a doubled prefix', `ep_${good.slice(0, -3)}`],
  ])('refuses %s', (_label, value) => {
    expect(parseId('endpoint', value)).toBeUndefined();
  });
});

describe('timeOfId', () => {
  it('reads back the time an id was made, and nothing from what is not an id', () => {
    const at = Date.UTC(2025, 5, 15, 12, 0, 0, 123);
    expect(timeOfId('delivery', newId('delivery', at))).toBe(at);
    expect(timeOfId('delivery', newId('event', at))).toBeUndefined();
    expect(idTimeBound('event', at) < newId('event', at)).toBe(true);
    expect(newId('event', at - 1) < idTimeBound('event', at)).toBe(true);
  });
});

describe('idTimeBound', () => {
  it('sorts after every id made earlier and before every id made then or later', () => {
    const floor = idTimeBound('delivery', NOW);
    for (const at of [0, NOW - 1000, NOW - 1]) expect(newId('delivery', at) < floor).toBe(true);
    for (const at of [NOW, NOW + 1, NOW + 86_400_000]) {
      expect(newId('delivery', at) > floor).toBe(true);
    }
    expect(floor).toBe(newId('delivery', NOW).slice(0, 14));
  });
});
