import { describe, it, expect } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { HeraldError } from '../../src/errors.js';
import {
  EVENT_CLASS,
  KNOWN_EVENT_NAMES,
  MAX_EVENT_BYTES,
  isKnownEventName,
  normaliseEvent,
  normaliseEventName,
} from '../../src/domain/events.js';

const NOW = Date.UTC(2020, 7, 21, 14, 12, 34, 544);
const NOW_ISO = '2020-08-21T14:12:34.544Z';
const PACKAGE = 'LWsUTvGgE4WpOvaQPT16idnxNj8=';
const USER = '30ba8506-9819-46aa-a22d-c0114ba34cd0';
const CORE = ['@class', 'name', 'sessionUser', 'packageId', 'message', 'documentId', 'createdDate'];

/** Runs normaliseEvent and returns the thrown error (fails the test when nothing is thrown). */
function rejection(input: unknown, index?: number): HeraldError {
  try {
    normaliseEvent(input, NOW, index);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as HeraldError;
  }
  throw new Error('expected normaliseEvent to throw');
}

describe('event names', () => {
  it('knows the 22 OneSpan names', () => {
    expect(KNOWN_EVENT_NAMES).toHaveLength(22);
    expect(isKnownEventName('PACKAGE_COMPLETE')).toBe(true);
    expect(isKnownEventName('COBROWSE_REQUEST')).toBe(true);
    expect(isKnownEventName('PACKAGE_READY_FOR_COMPLETION')).toBe(false);
    expect(isKnownEventName('PACKAGE_SOMETHING_NEW')).toBe(false);
  });

  it.each([
    ['PACKAGE_COMPLETE', 'PACKAGE_COMPLETE'],
    ['PACKAGE_READY_FOR_COMPLETION', 'PACKAGE_READY_FOR_COMPLETE'],
    ['PACKAGE_READY_FOR_COMPLETE', 'PACKAGE_READY_FOR_COMPLETE'],
    ['PACKAGE_SOMETHING_NEW', 'PACKAGE_SOMETHING_NEW'],
    ['X', 'X'],
    ['A1_2', 'A1_2'],
    ['A' + 'B'.repeat(99), 'A' + 'B'.repeat(99)],
  ])('normalises %j to %j', (input, wire) => {
    expect(normaliseEventName(input)).toBe(wire);
  });

  it.each([
    '',
    'package_complete',
    'Package_Complete',
    'PACKAGE COMPLETE',
    'PACKAGE-COMPLETE',
    '1PACKAGE',
    '_PACKAGE',
    ' PACKAGE_COMPLETE',
    'PACKAGE_COMPLETE ',
    '*',
    'A' + 'B'.repeat(100),
  ])('refuses %j', (input) => {
    expect(normaliseEventName(input)).toBeUndefined();
  });
});

describe('normaliseEvent', () => {
  it('builds the exact OneSpan payload', () => {
    const event = normaliseEvent(
      {
        name: 'PACKAGE_COMPLETE',
        sessionUser: USER,
        packageId: PACKAGE,
        createdDate: '2020-08-21T14:12:34.544Z',
      },
      0,
    );
    expect(event).toEqual({
      name: 'PACKAGE_COMPLETE',
      packageId: PACKAGE,
      createdDate: '2020-08-21T14:12:34.544Z',
      payload:
        '{"@class":"com.silanis.esl.packages.event.ESLProcessEvent","name":"PACKAGE_COMPLETE",' +
        `"sessionUser":"${USER}","packageId":"${PACKAGE}",` +
        '"message":null,"documentId":null,"createdDate":"2020-08-21T14:12:34.544Z"}',
    });
  });

  it('writes the seven keys in order with nulls, whatever the input order', () => {
    const event = normaliseEvent(
      { createdDate: NOW_ISO, documentId: 'doc1', packageId: PACKAGE, name: 'DOCUMENT_SIGNED' },
      0,
    );
    const payload = JSON.parse(event.payload) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(CORE);
    expect(payload).toEqual({
      '@class': EVENT_CLASS,
      name: 'DOCUMENT_SIGNED',
      sessionUser: null,
      packageId: PACKAGE,
      message: null,
      documentId: 'doc1',
      createdDate: NOW_ISO,
    });
  });

  it('accepts explicit nulls and the right @class', () => {
    const event = normaliseEvent(
      {
        '@class': EVENT_CLASS,
        name: 'PACKAGE_DECLINE',
        sessionUser: null,
        packageId: PACKAGE,
        message: 'Not today',
        documentId: null,
        createdDate: null,
      },
      NOW,
    );
    expect(JSON.parse(event.payload)).toEqual({
      '@class': EVENT_CLASS,
      name: 'PACKAGE_DECLINE',
      sessionUser: null,
      packageId: PACKAGE,
      message: 'Not today',
      documentId: null,
      createdDate: NOW_ISO,
    });
  });

  it('adds further fields after the seven, in their given order', () => {
    const event = normaliseEvent(
      {
        phone: '+1 514 555 0100',
        name: 'COBROWSE_REQUEST',
        comment: 'Please call',
        packageId: PACKAGE,
        selectedSupportBusinessHours: ['Mon 9-17', 'Tue 9-17'],
        extra: { nested: [1, true, null] },
      },
      NOW,
    );
    expect(event.payload).toBe(
      `{"@class":"${EVENT_CLASS}","name":"COBROWSE_REQUEST","sessionUser":null,` +
        `"packageId":"${PACKAGE}","message":null,"documentId":null,"createdDate":"${NOW_ISO}",` +
        '"phone":"+1 514 555 0100","comment":"Please call",' +
        '"selectedSupportBusinessHours":["Mon 9-17","Tue 9-17"],"extra":{"nested":[1,true,null]}}',
    );
  });

  it('keeps an empty selectedSupportBusinessHours array', () => {
    const event = normaliseEvent(
      { name: 'COBROWSE_REQUEST', packageId: PACKAGE, selectedSupportBusinessHours: [] },
      NOW,
    );
    expect(JSON.parse(event.payload)).toMatchObject({ selectedSupportBusinessHours: [] });
  });

  // Object keys that look like array indices ("0", "42") come first in a JavaScript object, so
  // building the payload as an object would put them before "@class".
  it('delivers further fields after the seven even when their names are digits', () => {
    const event = normaliseEvent({ name: 'PACKAGE_CREATE', packageId: PACKAGE, '42': 'x' }, NOW);
    expect(event.payload.startsWith(`{"@class":"${EVENT_CLASS}",`)).toBe(true);
    expect(event.payload.endsWith(`"createdDate":"${NOW_ISO}","42":"x"}`)).toBe(true);
  });

  it.each([
    [undefined, NOW_ISO],
    [null, NOW_ISO],
    ['2020-08-21T14:12:34.544Z', '2020-08-21T14:12:34.544Z'],
    ['2020-08-21T14:12:34Z', '2020-08-21T14:12:34.000Z'],
    ['2020-08-21T14:12:34.5Z', '2020-08-21T14:12:34.500Z'],
    ['2020-08-21T16:12:34.544+02:00', '2020-08-21T14:12:34.544Z'],
    ['2020-08-21T09:12:34-05:00', '2020-08-21T14:12:34.000Z'],
    ['2020-12-31T23:30:00.000-01:00', '2021-01-01T00:30:00.000Z'],
  ])('normalises createdDate %j to %j', (input, expected) => {
    const event = normaliseEvent(
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: input },
      NOW,
    );
    expect(event.createdDate).toBe(expected);
    expect((JSON.parse(event.payload) as { createdDate: string }).createdDate).toBe(expected);
  });

  it('formats the default createdDate with milliseconds even on a whole second', () => {
    const event = normaliseEvent(
      { name: 'PACKAGE_CREATE', packageId: PACKAGE },
      Date.UTC(2024, 0, 1),
    );
    expect(event.createdDate).toBe('2024-01-01T00:00:00.000Z');
  });

  it.each([
    ['PACKAGE_READY_FOR_COMPLETION', 'PACKAGE_READY_FOR_COMPLETE'],
    ['PACKAGE_SOMETHING_NEW', 'PACKAGE_SOMETHING_NEW'],
    ['EMAIL_BOUNCE', 'EMAIL_BOUNCE'],
  ])('accepts name %j as %j', (input, wire) => {
    const event = normaliseEvent({ name: input, packageId: PACKAGE }, NOW);
    expect(event.name).toBe(wire);
    expect((JSON.parse(event.payload) as { name: string }).name).toBe(wire);
  });

  it('accepts packageId and sessionUser of exactly 255 characters', () => {
    const id = 'p'.repeat(255);
    const event = normaliseEvent({ name: 'PACKAGE_CREATE', packageId: id, sessionUser: id }, NOW);
    expect(event.packageId).toBe(id);
  });

  it.each([
    ['a lower-case name', { name: 'package_complete', packageId: PACKAGE }, 'name'],
    ['a name with a space', { name: 'PACKAGE COMPLETE', packageId: PACKAGE }, 'name'],
    ['an empty name', { name: '', packageId: PACKAGE }, 'name'],
    ['a name with a leading digit', { name: '1PACKAGE', packageId: PACKAGE }, 'name'],
    ['a missing name', { packageId: PACKAGE }, 'name'],
    ['a null name', { name: null, packageId: PACKAGE }, 'name'],
    ['a numeric name', { name: 7, packageId: PACKAGE }, 'name'],
    ['a missing packageId', { name: 'PACKAGE_CREATE' }, 'packageId'],
    ['an empty packageId', { name: 'PACKAGE_CREATE', packageId: '' }, 'packageId'],
    ['a numeric packageId', { name: 'PACKAGE_CREATE', packageId: 12 }, 'packageId'],
    [
      'a packageId of 256 characters',
      { name: 'PACKAGE_CREATE', packageId: 'p'.repeat(256) },
      'packageId',
    ],
    [
      'a sessionUser of 256 characters',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, sessionUser: 'u'.repeat(256) },
      'sessionUser',
    ],
    [
      'a numeric sessionUser',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, sessionUser: 1 },
      'sessionUser',
    ],
    ['an object message', { name: 'PACKAGE_DECLINE', packageId: PACKAGE, message: {} }, 'message'],
    [
      'an array documentId',
      { name: 'DOCUMENT_SIGNED', packageId: PACKAGE, documentId: [] },
      'documentId',
    ],
    [
      'a boolean documentId',
      { name: 'DOCUMENT_SIGNED', packageId: PACKAGE, documentId: true },
      'documentId',
    ],
    [
      'a numeric createdDate',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: NOW },
      'createdDate',
    ],
    [
      'a date without a time',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: '2020-08-21' },
      'createdDate',
    ],
    [
      'an impossible date',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: '2020-13-45T00:00:00Z' },
      'createdDate',
    ],
    [
      'a non-date createdDate',
      { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: 'yesterday' },
      'createdDate',
    ],
    [
      'a wrong @class',
      { '@class': 'com.example.Event', name: 'PACKAGE_CREATE', packageId: PACKAGE },
      '@class',
    ],
    ['a numeric @class', { '@class': 1, name: 'PACKAGE_CREATE', packageId: PACKAGE }, '@class'],
    [
      'a string selectedSupportBusinessHours',
      { name: 'COBROWSE_REQUEST', packageId: PACKAGE, selectedSupportBusinessHours: 'Mon 9-17' },
      'selectedSupportBusinessHours',
    ],
    [
      'selectedSupportBusinessHours with a number',
      { name: 'COBROWSE_REQUEST', packageId: PACKAGE, selectedSupportBusinessHours: ['Mon', 9] },
      'selectedSupportBusinessHours',
    ],
    [
      'an object selectedSupportBusinessHours',
      { name: 'COBROWSE_REQUEST', packageId: PACKAGE, selectedSupportBusinessHours: { 0: 'Mon' } },
      'selectedSupportBusinessHours',
    ],
  ])('refuses %s', (_label, input, path) => {
    const err = rejection(input);
    expect(err.code).toBe('invalid_event');
    expect(err.status).toBe(400);
    expect(err.problems).toHaveLength(1);
    expect(err.problems?.[0]?.path).toBe(path);
    expect(err.message).toBe(`Invalid event: ${path} ${err.problems?.[0]?.message}`);
    // With a batch index, the path says which event.
    const inBatch = rejection(input, 3);
    expect(inBatch.code).toBe('invalid_event');
    expect(inBatch.problems?.map((p) => p.path)).toEqual([`3/${path}`]);
  });

  it('lists every problem, in order', () => {
    const err = rejection({ name: 'bad', packageId: 5, sessionUser: 5, message: 5 }, 0);
    expect(err.problems?.map((p) => p.path)).toEqual([
      '0/name',
      '0/packageId',
      '0/sessionUser',
      '0/message',
    ]);
    expect(err.message).toBe(
      'Invalid event: 0/name must be upper case letters, digits and underscores, starting with a letter (and 3 more problems)',
    );
  });

  it.each([null, 'PACKAGE_CREATE', 42, true, [], [{ name: 'PACKAGE_CREATE', packageId: PACKAGE }]])(
    'refuses a non-object %j',
    (input) => {
      const err = rejection(input);
      expect(err.code).toBe('invalid_event');
      expect(err.problems).toEqual([{ path: '/', message: 'must be a JSON object' }]);
    },
  );

  describe('size', () => {
    const base = { name: 'PACKAGE_CREATE', packageId: PACKAGE, createdDate: NOW_ISO };
    const overhead = Buffer.byteLength(normaliseEvent({ ...base, note: '' }, NOW).payload);

    it('accepts a payload of exactly 256 KiB', () => {
      const note = 'x'.repeat(MAX_EVENT_BYTES - overhead);
      const event = normaliseEvent({ ...base, note }, NOW);
      expect(Buffer.byteLength(event.payload)).toBe(256 * 1024);
    });

    it('refuses a payload one byte over 256 KiB', () => {
      const note = 'x'.repeat(MAX_EVENT_BYTES - overhead + 1);
      const err = rejection({ ...base, note });
      expect(err.code).toBe('payload_too_large');
      expect(err.status).toBe(413);
      expect(err.message).toBe('An event must be at most 256 KiB');
    });

    it('counts bytes, not characters', () => {
      // 'é' is two bytes in UTF-8: half as many characters reach the limit.
      const chars = Math.ceil((MAX_EVENT_BYTES - overhead + 1) / 2);
      expect(chars * 2 + overhead).toBeGreaterThan(MAX_EVENT_BYTES);
      expect(chars + overhead).toBeLessThan(MAX_EVENT_BYTES);
      expect(rejection({ ...base, note: 'é'.repeat(chars) }).code).toBe('payload_too_large');
    });
  });

  it('produces valid JSON that round-trips through parse and stringify', () => {
    const input = {
      name: 'PACKAGE_DECLINE',
      packageId: PACKAGE,
      sessionUser: USER,
      message: 'Line 1\nLine "2" \\ \u2028 ✓ 🎉',
      documentId: null,
      createdDate: NOW_ISO,
      meta: { a: [1, 2.5, -3], b: null, c: 'd' },
    };
    const event = normaliseEvent(input, NOW);
    const parsed = JSON.parse(event.payload) as Record<string, unknown>;
    expect(JSON.stringify(parsed)).toBe(event.payload);
    expect(parsed).toEqual({ '@class': EVENT_CLASS, ...input });
  });
});
