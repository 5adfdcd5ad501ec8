// The sustained benchmark's pure parts: what the publisher sends and how trips are put on one
// clock.

import { describe, expect, it } from 'vitest';
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

describe('trip times', () => {
  it('moves both clocks to the runner before subtracting, and leaves out early sends', () => {
    // The sender's clock runs 100 ms ahead of the runner's, the listener's 40 ms behind.
    const stats = { sentAt: [1100, 1105, 1200], arrivedAt: [961, 967, 1065] };
    const all = tripTimes(stats, { sender: 100, listener: -40 });
    expect([...all]).toEqual([1, 2, 5]);
    expect([...tripTimes(stats, { sender: 100, listener: -40 }, 1005)]).toEqual([2, 5]);
  });
});
