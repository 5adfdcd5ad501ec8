// The rules of operational events, without I/O: who receives one, what the body is, what the
// alert email says (and never says).

import { describe, expect, it } from 'vitest';
import {
  alertEmail,
  displayUrl,
  nextAlertTryAt,
  type AlertFacts,
} from '../../src/domain/alert-email.js';
import type { AccountId, DeliveryId, EndpointId } from '../../src/domain/ids.js';
import {
  isEmailed,
  isOperationalType,
  newOperationalEvent,
  operationalPayload,
  operationalRecipients,
  OPERATIONAL_TYPE_NAMES,
  type OperationalRoute,
} from '../../src/domain/operational.js';

const T = Date.UTC(2025, 5, 15, 12, 0, 0, 5);
const route = (id: string, events: string[], extra: Partial<OperationalRoute> = {}) =>
  ({
    id: id as EndpointId,
    events,
    state: 'enabled',
    authStatus: 'ok',
    ...extra,
  }) as OperationalRoute;

describe('operational event types', () => {
  it('are the six of the spec, three of them emailed', () => {
    expect(OPERATIONAL_TYPE_NAMES).toEqual([
      'delivery.exhausted',
      'endpoint.disabled',
      'endpoint.enabled',
      'endpoint.reauthorization_required',
      'endpoint.credentials_replaced',
      'oauth.persist_failed',
    ]);
    expect(OPERATIONAL_TYPE_NAMES.filter(isEmailed)).toEqual([
      'delivery.exhausted',
      'endpoint.disabled',
      'endpoint.reauthorization_required',
    ]);
    expect(isOperationalType('toString')).toBe(false);
    expect(isOperationalType('PACKAGE_COMPLETE')).toBe(false);
  });
});

describe('operationalRecipients', () => {
  const routes = [
    route('ep_subject', ['endpoint.disabled', 'delivery.exhausted']),
    route('ep_named', ['endpoint.disabled']),
    route('ep_star', ['*']),
    route('ep_other_type', ['endpoint.enabled']),
    route('ep_parked', ['endpoint.disabled', 'delivery.exhausted'], { state: 'disabled' }),
    route('ep_dead', ['delivery.exhausted'], { authStatus: 'reauthorization_required' }),
  ];
  it.each<[string, string, boolean, Array<[string, string]>]>([
    [
      'endpoint.disabled',
      'ep_subject',
      false,
      [
        ['ep_named', 'pending'],
        ['ep_parked', 'held'],
      ],
    ],
    [
      'delivery.exhausted',
      'ep_named',
      false,
      [
        ['ep_subject', 'pending'],
        ['ep_parked', 'held'],
        ['ep_dead', 'held'],
      ],
    ],
    ['delivery.exhausted', 'ep_named', true, []],
    ['endpoint.enabled', 'ep_other_type', false, []],
    ['oauth.persist_failed', 'ep_subject', false, []],
  ])('%s about %s (about an operational delivery: %s)', (type, about, operational, expected) => {
    const got = operationalRecipients(
      routes,
      { type: type as never, endpointId: about as EndpointId },
      operational,
    );
    expect(got.map((r) => [r.endpointId, r.status])).toEqual(expected);
  });
});

describe('operationalPayload', () => {
  it('is exactly type, id, createdAt, accountId, endpointId, deliveryId, data, in that order', () => {
    const event = newOperationalEvent(
      'delivery.exhausted',
      'acc_1' as AccountId,
      { endpointId: 'ep_1' as EndpointId, deliveryId: 'dlv_1' as DeliveryId },
      { attempts: 11, lastError: 'HTTP 500' },
      T,
    );
    expect(operationalPayload(event)).toBe(
      `{"type":"delivery.exhausted","id":"${event.id}","createdAt":"2025-06-15T12:00:00.005Z","accountId":"acc_1","endpointId":"ep_1","deliveryId":"dlv_1","data":{"attempts":11,"lastError":"HTTP 500"}}`,
    );
  });
});

describe('alert emails', () => {
  const facts = (overrides: Partial<AlertFacts> = {}): AlertFacts => ({
    type: 'endpoint.disabled',
    endpointId: 'ep_01HZZZ' as EndpointId,
    endpointUrl: 'https://user:pa55@listener.example.com:8443/hooks/in?token=s3cret#frag',
    endpointDescription: 'Orders <Salesforce>',
    count: 1,
    firstAt: T,
    lastAt: T,
    data: { reason: 'the listener answered 410 Gone' },
    consoleUrl: 'https://herald.example.com/console/endpoints/ep_01HZZZ',
    ...overrides,
  });

  it('shows a URL without credentials, query or fragment', () => {
    expect(displayUrl('https://user:pa55@h.example:8443/p/q?token=s3cret#x')).toBe(
      'https://h.example:8443/p/q (credentials and query not shown)',
    );
    expect(displayUrl('https://h.example/p')).toBe('https://h.example/p');
    expect(displayUrl('not a url')).toBe('(an invalid URL)');
  });

  it.each([
    ['endpoint.disabled', /Endpoint disabled/, /enable the endpoint/],
    ['endpoint.reauthorization_required', /Reconnect needed/, /Reconnect the endpoint/],
    ['delivery.exhausted', /Deliveries failed/, /recover/],
  ] as const)(
    '%s: which endpoint, what happened, what to do, the console link',
    (type, subject, todo) => {
      const mail = alertEmail(facts({ type }));
      expect(mail.subject).toMatch(subject);
      expect(mail.subject).toContain('https://listener.example.com:8443/hooks/in');
      for (const body of [mail.text, mail.html]) {
        expect(body).toMatch(todo);
        expect(body).toContain('ep_01HZZZ');
        expect(body).toContain('https://herald.example.com/console/endpoints/ep_01HZZZ');
        for (const secret of ['pa55', 's3cret', 'user:', 'frag'])
          expect(body).not.toContain(secret);
      }
      expect(mail.html).toContain('Orders &lt;Salesforce&gt;');
      expect(mail.html).not.toContain('<Salesforce>');
    },
  );

  it('counts the events gathered into one email', () => {
    const mail = alertEmail(
      facts({
        type: 'delivery.exhausted',
        count: 7,
        lastAt: T + 1800_000,
        data: { attempts: 11, lastError: 'HTTP 502' },
      }),
    );
    expect(mail.text).toMatch(
      /^7 deliveries to the endpoint .* are now failed \(the latest after 11 attempts, last error: HTTP 502\)\./,
    );
    expect(mail.text).toContain('Between 2025-06-15T12:00:00.005Z and 2025-06-15T12:30:00.005Z');
    expect(alertEmail(facts({ count: 3 })).text).toContain('This happened 3 times between');
  });

  it('leaves the console link out when no public URL is set', () => {
    const mail = alertEmail(facts({ consoleUrl: null }));
    expect(mail.text).not.toContain('console');
    expect(mail.html).not.toContain('<a ');
  });

  it.each([
    [1, 30_000],
    [2, 60_000],
    [5, 480_000],
    [20, 3600_000],
  ])('after %i failed sends waits about %i ms', (failures, pause) => {
    expect(nextAlertTryAt(failures, T, 0.5)).toBe(T + pause);
    expect(nextAlertTryAt(failures, T, 0)).toBe(T + pause * 0.8);
  });
});
