// The client library against a real Herald: publish (with safe retries) and verify callbacks.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallbackVerificationError,
  HeraldClient,
  HeraldRequestError,
  isKnownEvent,
  verifyCallback,
} from '../../packages/client/src/index.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';

describe('client library', () => {
  let herald: TestHerald;
  let listener: Listener;
  let signingSecret: string;
  const verified: unknown[] = [];

  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener(async (request) => {
      try {
        verified.push(
          await verifyCallback(request, {
            callbackKey: 'client-key-1',
            signingSecrets: [signingSecret],
          }),
        );
        return { status: 204 };
      } catch {
        return { status: 401 };
      }
    });
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: listener.url,
      events: ['*'],
      auth: { type: 'BASIC', key: 'client-key-1' },
    });
    signingSecret = ep.body.signingSecret;
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
  });

  it('publishes events and batches; the listener verifies the key and the signature', async () => {
    const client = new HeraldClient({ url: herald.url, apiKey: TEST_API_KEY });
    const id = await client.publish({
      name: 'PACKAGE_COMPLETE',
      packageId: 'cl-1',
      sessionUser: 'u',
    });
    expect(id).toMatch(/^evt_/);
    const ids = await client.publishBatch([
      { name: 'DOCUMENT_SIGNED', packageId: 'cl-1', documentId: 'd1' },
      { name: 'SOMETHING_NEW', packageId: 'cl-1' },
    ]);
    expect(ids).toHaveLength(2);
    // Verification is async: wait for the answers, not only the arrivals.
    await eventually(() => (verified.length >= 3 ? true : undefined), 10_000, 'three verified');
    expect(verified).toHaveLength(3);
    const names = verified.map((e) => (e as { name: string }).name).sort();
    expect(names).toEqual(['DOCUMENT_SIGNED', 'PACKAGE_COMPLETE', 'SOMETHING_NEW']);
    expect(verified.filter((e) => isKnownEvent(e as never))).toHaveLength(2);
  });

  it('retries with the same Idempotency-Key, so a lost answer does not publish twice', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      const response = await fetch(input, init);
      if (calls === 1) return new Response('upstream hiccup', { status: 502 }); // stored, but the answer is lost
      return response;
    };
    const client = new HeraldClient({ url: herald.url, apiKey: TEST_API_KEY, fetch: flaky });
    const id = await client.publish({ name: 'PACKAGE_ARCHIVE', packageId: 'cl-2' });
    expect(calls).toBe(2);
    const deliveries = await herald.api('GET', `/v1/deliveries?event=PACKAGE_ARCHIVE`);
    expect(deliveries.body.data).toHaveLength(1);
    expect(deliveries.body.data[0].eventId).toBe(id);
  });

  it('reports refusals with their stable code and does not retry them', async () => {
    const answers: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      answers.push(response.status);
      return response;
    };
    const client = new HeraldClient({ url: herald.url, apiKey: TEST_API_KEY, fetch: counting });
    const error = await client
      .publish({ name: 'bad name', packageId: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldRequestError);
    expect((error as HeraldRequestError).code).toBe('invalid_event');
    expect(answers).toEqual([400]);
    const unauthorized = await new HeraldClient({
      url: herald.url,
      apiKey: 'nope-nope-nope-nope',
      fetch: counting,
    })
      .publish({ name: 'X', packageId: 'y' })
      .catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(HeraldRequestError);
    expect((unauthorized as HeraldRequestError).status).toBe(401);
    // One request each: a 4xx is final, unlike the 5xx retried above.
    expect(answers).toEqual([400, 401]);
  });

  it('refuses forged callbacks', async () => {
    const body = JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: 'p' });
    await expect(
      verifyCallback(
        { headers: { authorization: 'Basic wrong' }, body },
        { callbackKey: 'client-key-1' },
      ),
    ).rejects.toThrow(CallbackVerificationError);
    const headers = {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,AAAA',
    };
    await expect(
      verifyCallback({ headers, body }, { signingSecrets: [signingSecret] }),
    ).rejects.toMatchObject({ kind: 'invalid_signature' });
    const old = { ...headers, 'webhook-timestamp': '1000' };
    await expect(
      verifyCallback({ headers: old, body }, { signingSecrets: [signingSecret] }),
    ).rejects.toMatchObject({ kind: 'timestamp_out_of_tolerance' });
  });
});
