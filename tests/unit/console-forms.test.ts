// The console's form rules: the event groups cover every known event, the endpoint form becomes
// the /v1 body the API would take, and the build copies the vendor files the console serves.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VENDOR_FILES } from '../../src/console/assets.js';
import { endpointBody, timeRangeOf, UNGROUPED_EVENTS, utcTime } from '../../src/console/forms.js';
import { EndpointCreateSchema } from '../../src/services/schemas.js';

describe('the endpoint form', () => {
  it('groups every known event as OneSpan does', () => {
    expect(UNGROUPED_EVENTS).toEqual([]);
  });

  it('becomes the /v1 body: events, Basic key, headers, options', () => {
    const body = endpointBody(
      {
        url: ' https://listener.example.com/cb ',
        events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED'],
        otherEvents: 'custom_event, OTHER',
        authType: 'BASIC',
        basicKey: 'k3y',
        header0Key: 'X-Tenant',
        header0Value: 'acme',
        header1Key: '',
        header1Value: '',
        timeoutSeconds: '5',
        maxConcurrency: '4',
        rateLimit: '',
        ordering: 'package',
        retrySchedule: '5s, 1m',
        signing: 'on',
      },
      () => undefined,
    );
    expect(EndpointCreateSchema.parse(body)).toEqual({
      url: 'https://listener.example.com/cb',
      events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED', 'CUSTOM_EVENT', 'OTHER'],
      description: null,
      auth: { type: 'BASIC', key: 'k3y' },
      customHeaders: [{ key: 'X-Tenant', value: 'acme' }],
      options: {
        timeoutMs: 5000,
        maxConcurrency: 4,
        rateLimit: null,
        ordering: 'package',
        retrySchedule: ['5s', '1m'],
      },
      signing: true,
    });
  });

  it('keeps a stored secret when its field is left empty (the masked value means keep)', () => {
    const body = endpointBody({ url: 'https://x.example', authType: 'BASIC', basicKey: '' }, (f) =>
      f === 'key' ? '****abcd' : undefined,
    );
    expect(body.auth).toEqual({ type: 'BASIC', key: '****abcd' });
    expect(endpointBody({ url: 'https://x.example', events: '*' }, () => undefined).events).toEqual(
      ['*'],
    );
  });

  it('reads times as UTC and wants Until after From', () => {
    expect(utcTime('2025-06-15T10:30', 'From')).toBe(Date.UTC(2025, 5, 15, 10, 30));
    expect(() => utcTime('yesterday', 'From')).toThrow('From is not a date and time');
    expect(() => timeRangeOf('2025-06-15T10:30', '2025-06-15T10:00')).toThrow(
      'Until must be after From',
    );
  });
});

describe('the build', () => {
  it('copies exactly the vendor files the console serves', () => {
    const script = readFileSync(new URL('../../scripts/copy-assets.mjs', import.meta.url), 'utf8');
    for (const [name, module] of Object.entries(VENDOR_FILES)) {
      expect(script).toContain(`'${name}': '${module}'`);
    }
    expect(script.match(/': '[^']+\/dist\//g)).toHaveLength(Object.keys(VENDOR_FILES).length);
  });
});
