// Encryption of secrets at rest: AES-256-GCM with a key id, so the master key can be rotated
// (the first key encrypts; every listed key decrypts). Sealed form: `v1.<kid>.<iv>.<ciphertext+tag>`.

import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Parses `HERALD_MASTER_KEY`: comma-separated base64 (or hex) encodings of 32-byte keys. */
export function parseMasterKeys(text: string): MasterKey[] {
  const keys = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((encoded) => {
      const key = /^[0-9a-f]{64}$/i.test(encoded)
        ? Buffer.from(encoded, 'hex')
        : Buffer.from(encoded, 'base64');
      if (key.length !== 32) {
        throw new ConfigError(
          'HERALD_MASTER_KEY must be base64 (or hex) of exactly 32 random bytes, e.g. the output of `openssl rand -base64 32`',
        );
      }
      return { id: keyId(key), key };
    });
  if (keys.length === 0) throw new ConfigError('HERALD_MASTER_KEY is empty');
  return keys;
}

export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}

export class SecretBox {
  private readonly keys: readonly MasterKey[];

  constructor(keys: readonly MasterKey[]) {
    this.keys = keys;
  }

  static fromText(text: string): SecretBox {
    return new SecretBox(parseMasterKeys(text));
  }

  /**
   * A box of keys derived from these (HKDF-SHA256, one per master key, in the same order) for
   * another purpose, such as sealing console sessions: every process with the same master key
   * derives the same keys, and what one seals cannot be opened as a secret at rest.
   */
  derive(purpose: string): SecretBox {
    return new SecretBox(
      this.keys.map(({ key }) => {
        const derived = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), purpose, 32));
        return { id: keyId(derived), key: derived };
      }),
    );
  }

  seal(plaintext: string): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(id));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `v1.${id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string): string {
    const [version, id, iv, body] = sealed.split('.');
    if (version !== 'v1' || !id || !iv || !body) throw new Error('not a sealed secret');
    const master = this.keys.find((k) => k.id === id);
    if (!master) {
      throw new Error(`secret was sealed with master key ${id}, which is not in HERALD_MASTER_KEY`);
    }
    const data = Buffer.from(body, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', master.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([
      decipher.update(data.subarray(0, data.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  }
}
