// The receiver against the independent `standardwebhooks` package, both ways: what it signs we
// verify, what we (and Herald's server) sign it verifies; rotation, tolerance, header case, kinds.

import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signatureHeader as serverSignature } from '../../../src/delivery/signature.js';
import {
  CallbackVerificationError,
  checkCallbackCredentials,
  signatureHeader,
  verifyCallback,
  type VerificationErrorKind,
} from '../src/index.js';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const now = () => NOW;
const seconds = Math.floor(NOW / 1000);
// Spaces and key order as the platform sent them: re-serialising would change the bytes.
const body = '{"name": "PACKAGE_COMPLETE",  "packageId":"pkg-1","message":null}';

function kindOf(promise: Promise<unknown>): Promise<VerificationErrorKind | 'resolved'> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => {
      if (!(error instanceof CallbackVerificationError)) throw error;
      return error.kind;
    },
  );
}

describe('verifyCallback', () => {
  it('accepts what standardwebhooks signs', async () => {
    const secret = newSecret();
    const signature = new Webhook(secret).sign('msg_1', new Date(NOW), body);
    const event = await verifyCallback(
      {
        headers: {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(seconds),
          'webhook-signature': signature,
        },
        body,
      },
      { signingSecrets: [secret], now },
    );
    expect(event).toMatchObject({ name: 'PACKAGE_COMPLETE', packageId: 'pkg-1' });
  });

  it('signs what standardwebhooks verifies, as Herald’s server does', async () => {
    const [a, b] = [newSecret(), newSecret()];
    const headers = (signature: string) => ({
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': signature,
    });
    const ours = await signatureHeader([a, b], 'msg_2', Math.floor(Date.now() / 1000), body);
    const server = serverSignature(
      [
        { secret: a, expiresAt: null },
        { secret: b, expiresAt: null },
      ],
      'msg_2',
      Math.floor(Date.now() / 1000),
      body,
      Date.now(),
    )!;
    expect(server).toBe(ours);
    for (const secret of [a, b]) {
      expect(new Webhook(secret).verify(body, headers(ours))).toMatchObject({ packageId: 'pkg-1' });
    }
  });

  it('takes any one valid signature during a rotation, from either side', async () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const both = await signatureHeader([newer, oldSecret], 'msg_3', seconds, body);
    const onlyOld = await signatureHeader([oldSecret], 'msg_3', seconds, body);
    const request = (signature: string) => ({
      headers: {
        'webhook-id': 'msg_3',
        'webhook-timestamp': String(seconds),
        'webhook-signature': signature,
      },
      body,
    });
    expect(both.split(' ')).toHaveLength(2);
    // The listener that still knows only the old secret, and the one that knows both.
    expect(await kindOf(verifyCallback(request(both), { signingSecrets: [oldSecret], now }))).toBe(
      'resolved',
    );
    expect(
      await kindOf(verifyCallback(request(onlyOld), { signingSecrets: [newer, oldSecret], now })),
    ).toBe('resolved');
    expect(await kindOf(verifyCallback(request(onlyOld), { signingSecrets: [newer], now }))).toBe(
      'invalid_signature',
    );
  });

  it('holds the timestamp to the tolerance, both ways', async () => {
    const secret = newSecret();
    const at = async (timestamp: number, toleranceSeconds?: number) => {
      const signature = await signatureHeader([secret], 'msg_4', timestamp, body);
      return kindOf(
        verifyCallback(
          {
            headers: {
              'webhook-id': 'msg_4',
              'webhook-timestamp': String(timestamp),
              'webhook-signature': signature,
            },
            body,
          },
          { signingSecrets: [secret], now, toleranceSeconds },
        ),
      );
    };
    expect(await at(seconds - 300)).toBe('resolved');
    expect(await at(seconds + 300)).toBe('resolved');
    expect(await at(seconds - 301)).toBe('timestamp_out_of_tolerance');
    expect(await at(seconds + 301)).toBe('timestamp_out_of_tolerance');
    expect(await at(seconds - 3600, 3600)).toBe('resolved');
  });

  it('reads header names in any case, from a Headers object or a plain one', async () => {
    const secret = newSecret();
    const signature = await signatureHeader([secret], 'msg_5', seconds, body);
    const options = { signingSecrets: [secret], callbackKey: 'key-5', now };
    const plain = {
      'Webhook-Id': 'msg_5',
      'WEBHOOK-TIMESTAMP': String(seconds),
      'webhook-Signature': [signature],
      Authorization: 'Basic key-5',
    };
    expect(await kindOf(verifyCallback({ headers: plain, body }, options))).toBe('resolved');
    const fetchHeaders = new Headers(plain as unknown as Record<string, string>);
    expect(await kindOf(verifyCallback({ headers: fetchHeaders, body }, options))).toBe('resolved');
  });

  it('verifies the raw body: the same JSON serialised again does not match', async () => {
    const secret = newSecret();
    const signature = await signatureHeader([secret], 'msg_6', seconds, body);
    const headers = {
      'webhook-id': 'msg_6',
      'webhook-timestamp': String(seconds),
      'webhook-signature': signature,
    };
    const options = { signingSecrets: [secret], now };
    const bytes = new TextEncoder().encode(body);
    expect(await kindOf(verifyCallback({ headers, body: bytes }, options))).toBe('resolved');
    const reserialised = JSON.stringify(JSON.parse(body));
    expect(await kindOf(verifyCallback({ headers, body: reserialised }, options))).toBe(
      'invalid_signature',
    );
  });

  it('names what is wrong with a stable kind', async () => {
    const secret = newSecret();
    const signature = await signatureHeader([secret], 'msg_7', seconds, body);
    const signed = {
      'webhook-id': 'msg_7',
      'webhook-timestamp': String(seconds),
      'webhook-signature': signature,
    };
    const cases: Array<[VerificationErrorKind, Promise<unknown>]> = [
      ['no_credentials_configured', checkCallbackCredentials({ headers: {}, body }, {})],
      ['invalid_secret', verifyCallback({ headers: signed, body }, { signingSecrets: ['nope!'] })],
      ['missing_authorization', verifyCallback({ headers: {}, body }, { callbackKey: 'k' })],
      [
        'missing_authorization',
        verifyCallback({ headers: { authorization: 'Bearer k' }, body }, { callbackKey: 'k' }),
      ],
      [
        'wrong_callback_key',
        verifyCallback({ headers: { authorization: 'Basic other' }, body }, { callbackKey: 'k' }),
      ],
      [
        'missing_signature_headers',
        verifyCallback(
          { headers: { ...signed, 'webhook-id': undefined }, body },
          { signingSecrets: [secret], now },
        ),
      ],
      [
        'timestamp_out_of_tolerance',
        verifyCallback(
          { headers: { ...signed, 'webhook-timestamp': 'soon' }, body },
          { signingSecrets: [secret], now },
        ),
      ],
      [
        'invalid_signature',
        verifyCallback(
          { headers: { ...signed, 'webhook-signature': 'v2,abc' }, body },
          { signingSecrets: [secret], now },
        ),
      ],
      [
        'invalid_body',
        verifyCallback(
          { headers: { authorization: 'Basic k' }, body: '[1]' },
          { callbackKey: 'k' },
        ),
      ],
      [
        'invalid_body',
        verifyCallback({ headers: { authorization: 'Basic k' }, body: '{' }, { callbackKey: 'k' }),
      ],
    ];
    for (const [kind, verification] of cases) {
      expect(await kindOf(verification)).toBe(kind);
    }
  });

  it('compares the Basic key whatever the scheme’s case, and all of it', async () => {
    const ok = (authorization: string) =>
      kindOf(verifyCallback({ headers: { authorization }, body }, { callbackKey: 'key-8' }));
    expect(await ok('basic key-8')).toBe('resolved');
    expect(await ok('Basic key-8x')).toBe('wrong_callback_key');
    expect(await ok('Basic key-')).toBe('wrong_callback_key');
  });
});
