// The sustained benchmark's pure parts: what the publisher sends, what the DIY relay accepts,
// and how trips are put on one clock.

import { describe, expect, it } from 'vitest';
import { parsePublish, type ParsedPublish } from '../../bench/lib/diy-events.js';
import { normaliseEvent } from '../../src/domain/events.js';
import { eventInput, stampedBody } from '../../bench/lib/payload.js';
import { tripTimes } from '../../bench/lib/sustained.js';

describe('sustained publish bodies', () => {
  it('stamps every event of a batch with the send time and keeps their packageIds apart', () => {
    const events = JSON.parse(stampedBody(10, 3, 1234.5, false)) as Array<Record<string, unknown>>;
    expect(events).toHaveLength(3);
    expect(events.map((e) => e.benchSentAt)).toEqual([1234.5, 1234.5, 1234.5]);
    expect(new Set(events.map((e) => e.packageId)).size).toBe(3);
    expect(events[0]).toEqual(eventInput(10, { benchSentAt: 1234.5 }));
  });

  it('sends a single event as an object, not an array of one', () => {
    expect(JSON.parse(stampedBody(7, 1, 99, true))).toEqual(eventInput(7, { benchSentAt: 99 }));
  });
});

describe('DIY relay ingest', () => {
  const now = Date.parse('2026-12-01T00:00:00.000Z');
  const bodiesOf = (parsed: ParsedPublish): readonly string[] => {
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed.bodies;
  };

  it('delivers the bytes Herald would deliver for the same event', () => {
    const input = eventInput(1, { benchSentAt: 5 });
    const parsed = parsePublish(JSON.stringify(input), now);
    expect(parsed).toMatchObject({ single: true });
    expect(bodiesOf(parsed)).toEqual([normaliseEvent(input, now).payload]);
    expect(JSON.parse(bodiesOf(parsed)[0]!)).toMatchObject({
      createdDate: '2026-12-01T00:00:00.000Z',
      benchSentAt: 5,
    });
  });

  it('accepts a batch as an array and refuses what Herald refuses', () => {
    const batch = parsePublish(stampedBody(0, 1000, 1, false), now);
    expect(batch).toMatchObject({ single: false });
    expect(bodiesOf(batch)).toHaveLength(1000);
    expect(parsePublish(stampedBody(0, 1001, 1, false), now)).toEqual({
      error: 'a batch holds 1 to 1000 events',
    });
    expect(parsePublish('[]', now)).toHaveProperty('error');
    expect(parsePublish('{"name":', now)).toEqual({ error: 'the body is not JSON' });
    expect(parsePublish('{"name":"PACKAGE_COMPLETE"}', now)).toHaveProperty(
      'error',
      expect.stringMatching(/packageId/),
    );
  });
});

describe('trip times', () => {
  it('moves both clocks to the runner before subtracting, and leaves out early sends', () => {
    // The sender's clock runs 100 ms ahead of the runner's, the listener's 40 ms behind.
    const stats = { sentAt: [1100, 1105, 1200], arrivedAt: [961, 967, 1065] };
    const all = tripTimes(stats, { sender: 100, listener: -40 });
    expect([...all]).toEqual([1, 2, 5]);
    expect([...tripTimes(stats, { sender: 100, listener: -40 }, 1005)]).toEqual([2, 5]);
  });
});
