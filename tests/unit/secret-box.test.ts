import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { ConfigError } from '../../src/errors.js';
import { SecretBox, generateMasterKey, parseMasterKeys } from '../../src/services/secret-box.js';

// Fixed keys, so key ids are stable and failures reproducible.
const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const OTHER = Buffer.alloc(32, 3);
const OLD_B64 = OLD.toString('base64');
const NEW_B64 = NEW.toString('base64');
const OTHER_B64 = OTHER.toString('base64');
const kid = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** Replaces one base64url character of a sealed part with a different one. */
function flip(sealed: string, part: 2 | 3, at: number): string {
  const parts = sealed.split('.');
  const text = parts[part]!;
  const ch = text[at]!;
  parts[part] = text.slice(0, at) + (ch === 'A' ? 'B' : 'A') + text.slice(at + 1);
  return parts.join('.');
}

describe('parseMasterKeys', () => {
  it('accepts base64 of 32 bytes', () => {
    const keys = parseMasterKeys(OLD_B64);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.key.equals(OLD)).toBe(true);
    expect(keys[0]!.id).toBe(kid(OLD));
    expect(keys[0]!.id).toMatch(/^[0-9a-f]{8}$/);
  });

  it.each([
    ['lower-case hex', OLD.toString('hex')],
    ['upper-case hex', OLD.toString('hex').toUpperCase()],
    ['base64 with spaces around it', `  ${OLD_B64}\n`],
    ['base64 without padding', OLD_B64.replace(/=+$/, '')],
  ])('accepts %s', (_label, text) => {
    const keys = parseMasterKeys(text);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.key.equals(OLD)).toBe(true);
    expect(keys[0]!.id).toBe(kid(OLD));
  });

  it('reads several comma-separated keys in order, blanks ignored', () => {
    const keys = parseMasterKeys(` ${NEW_B64} ,, ${OLD.toString('hex')} ,`);
    expect(keys.map((k) => k.id)).toEqual([kid(NEW), kid(OLD)]);
  });

  it('accepts a generated key', () => {
    const text = generateMasterKey();
    expect(Buffer.from(text, 'base64')).toHaveLength(32);
    expect(parseMasterKeys(text)).toHaveLength(1);
    expect(generateMasterKey()).not.toBe(text);
  });

  it.each([
    ['16 bytes', Buffer.alloc(16, 1).toString('base64')],
    ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
    ['64 bytes', Buffer.alloc(64, 1).toString('base64')],
    ['hex of 31 bytes', Buffer.alloc(31, 1).toString('hex')],
    ['hex of 33 bytes', Buffer.alloc(33, 1).toString('hex')],
    ['a passphrase', 'correct horse battery staple'],
    ['a good key followed by a short one', `${OLD_B64},${Buffer.alloc(16).toString('base64')}`],
  ])('refuses %s', (_label, text) => {
    expect(() => parseMasterKeys(text)).toThrow(ConfigError);
    expect(() => parseMasterKeys(text)).toThrow(
      'HERALD_MASTER_KEY must be base64 (or hex) of exactly 32 random bytes',
    );
  });

  it.each(['', ' ', ',', ' , '])('refuses an empty list %j', (text) => {
    expect(() => parseMasterKeys(text)).toThrow(new ConfigError('HERALD_MASTER_KEY is empty'));
  });

  it('never repeats the key in its error', () => {
    const short = Buffer.alloc(20, 7).toString('base64');
    try {
      parseMasterKeys(short);
      expect.unreachable('parseMasterKeys must throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain(short);
    }
  });
});

describe('SecretBox', () => {
  const box = SecretBox.fromText(OLD_B64);

  it.each([
    '',
    'a',
    'refresh-token-5Aep861TSESvWeug_xvFHRBTTbf',
    'line\nbreaks\tand "quotes" and dots...',
    'ünïcödé ✓ 🎉',
    'x'.repeat(100_000),
  ])('round-trips %j', (plaintext) => {
    const sealed = box.seal(plaintext);
    expect(box.open(sealed)).toBe(plaintext);
  });

  it('writes v1.<key id>.<iv>.<ciphertext+tag> without the plaintext', () => {
    const sealed = box.seal('my-secret-value');
    const [version, id, iv, body, ...rest] = sealed.split('.');
    expect(version).toBe('v1');
    expect(id).toBe(kid(OLD));
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    // 15 bytes of ciphertext and a 16-byte tag.
    expect(Buffer.from(body!, 'base64url')).toHaveLength(15 + 16);
    expect(rest).toEqual([]);
    expect(sealed).not.toContain('my-secret-value');
  });

  it('seals the same value differently every time (random IV)', () => {
    const sealed = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const s = box.seal('same');
      sealed.add(s);
      ivs.add(s.split('.')[2]!);
    }
    expect(sealed.size).toBe(1000);
    expect(ivs.size).toBe(1000);
  });

  describe('tampering', () => {
    const sealed = box.seal('the secret');
    const [, id, iv, body] = sealed.split('.') as [string, string, string, string];

    it.each([
      ['a changed IV', flip(sealed, 2, 0)],
      ['a changed first ciphertext byte', flip(sealed, 3, 0)],
      ['a changed tag', flip(sealed, 3, body.length - 2)],
      ['a truncated body', `v1.${id}.${iv}.${body.slice(0, -4)}`],
      ['an empty-ish body', `v1.${id}.${iv}.AAAA`],
      ['another sealed value’s IV', `v1.${id}.${box.seal('x').split('.')[2]}.${body}`],
    ])('refuses %s', (_label, tampered) => {
      expect(tampered).not.toBe(sealed);
      expect(() => box.open(tampered)).toThrow();
    });

    it('refuses a value sealed under another key relabelled with this key id', () => {
      const other = SecretBox.fromText(OTHER_B64).seal('the secret');
      const relabelled = other.replace(`.${kid(OTHER)}.`, `.${id}.`);
      expect(relabelled).not.toBe(other);
      expect(() => box.open(relabelled)).toThrow();
    });

    it.each([
      '',
      'plain text',
      'v1',
      'v1.abc',
      `v1.${id}.${iv}`,
      `v2.${id}.${iv}.${body}`,
      `v1..${iv}.${body}`,
    ])('refuses %j as not a sealed secret', (value) => {
      expect(() => box.open(value)).toThrow('not a sealed secret');
    });
  });

  describe('key rotation', () => {
    const oldBox = SecretBox.fromText(OLD_B64);
    const rotated = SecretBox.fromText(`${NEW_B64},${OLD_B64}`);
    const newOnly = SecretBox.fromText(NEW_B64);
    const sealedByOld = oldBox.seal('sealed before the rotation');

    it('opens values sealed with the old key', () => {
      expect(rotated.open(sealedByOld)).toBe('sealed before the rotation');
    });

    it('seals with the first (new) key', () => {
      const sealed = rotated.seal('after');
      expect(sealed.split('.')[1]).toBe(kid(NEW));
      expect(newOnly.open(sealed)).toBe('after');
      expect(() => oldBox.open(sealed)).toThrow(
        `secret was sealed with master key ${kid(NEW)}, which is not in HERALD_MASTER_KEY`,
      );
    });

    it('re-seals a stale value so that the old key can be dropped', () => {
      const resealed = rotated.seal(rotated.open(sealedByOld));
      expect(newOnly.open(resealed)).toBe('sealed before the rotation');
    });

    it('names the missing key id when the old key is gone', () => {
      expect(() => newOnly.open(sealedByOld)).toThrow(
        `secret was sealed with master key ${kid(OLD)}, which is not in HERALD_MASTER_KEY`,
      );
    });

    it('never names the key material in that error', () => {
      let thrown: unknown;
      try {
        newOnly.open(sealedByOld);
      } catch (err) {
        thrown = err;
      }
      // Outside the catch: an assertion failing here cannot be caught as "the error".
      expect(thrown).toBeInstanceOf(Error);
      const message = (thrown as Error).message;
      expect(message).toMatch(/master key/);
      expect(message).not.toContain(OLD_B64);
      expect(message).not.toContain(NEW_B64);
      expect(message).not.toContain(OLD.toString('hex'));
      expect(message).not.toContain(NEW.toString('hex'));
    });
  });
});
