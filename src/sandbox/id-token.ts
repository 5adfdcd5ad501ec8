// OpenID Connect id_tokens, returned with the `openid` scope like Salesforce does. Signed RS256
// with a key generated on first use (most runs never ask for `openid`, and RSA key generation is
// the slowest thing the sandbox would otherwise do at start). The public key is served as a JWKS
// at /id/keys, Salesforce's path, so OIDC clients can verify the signature.

import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

export interface IdTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly iatMs: number;
  readonly accessToken: string;
  readonly nonce: string | undefined;
  readonly extra: Record<string, unknown>;
}

const ID_TOKEN_LIFETIME_S = 300;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export class IdTokenSigner {
  private key: SigningKey | undefined;

  sign(claims: IdTokenClaims): string {
    const key = this.signingKey();
    const iat = Math.floor(claims.iatMs / 1000);
    // at_hash: left half of SHA-256 of the access token (OIDC Core 3.1.3.6).
    const digest = createHash('sha256').update(claims.accessToken, 'ascii').digest();
    const payload = {
      at_hash: digest.subarray(0, digest.length / 2).toString('base64url'),
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      iat,
      exp: iat + ID_TOKEN_LIFETIME_S,
      ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
      ...claims.extra,
    };
    const input = `${b64url({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${b64url(payload)}`;
    const signature = sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
    return `${input}.${signature}`;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: [this.signingKey().jwk] };
  }

  private signingKey(): SigningKey {
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = `sandbox-${Date.now().toString(36)}`;
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
      this.key = { kid, privateKey, jwk };
    }
    return this.key;
  }
}
