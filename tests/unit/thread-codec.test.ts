import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  decodeClaimed,
  decodeIngest,
  decodeResults,
  encodeIngest,
  encodeResults,
  flattenClaimedRows,
} from '../../src/store/sqlite/thread-codec.js';
import type { ClaimedDelivery, DeliveryResult } from '../../src/store/port.js';
import type { AccountId, DeliveryId, EndpointId, EventId } from '../../src/domain/ids.js';
import { anIngestBatch, aResult, T0 } from '../helpers/store.js';

/**
 * How structured clone (v8.serialize is the same serializer) writes an array: 'A' dense, value
 * after value; 'a' sparse, index and value for each element, several times slower.
 */
function cloneLayout(flat: unknown[]): string {
  const bytes = serialize(flat);
  return String.fromCharCode(bytes[2]!); // after the two bytes of the format's version
}

describe('the store thread codec', () => {
  it('hands structured clone dense arrays (no holes) for results and claimed rows', () => {
    const results = [1, 2, 3].map((i) => aResult(`dlv_${i}` as DeliveryId, 'w1', 'pending', T0));
    expect(cloneLayout(encodeResults(results))).toBe('A');
    const row = ['dlv_1', 'evt_1', 'ep_1', 'acc_1', '{}', 0, 0, 1, 0, null];
    expect(cloneLayout(flattenClaimedRows([row, row]))).toBe('A');
    expect(cloneLayout(new Array<unknown>(3).fill(0))).toBe('a'); // what the check tells apart
  });

  it('round-trips results with and without an attempt, every field kept', () => {
    const withAttempt = aResult('dlv_1' as DeliveryId, 'w1', 'pending', T0);
    const without: DeliveryResult = {
      ...aResult('dlv_2' as DeliveryId, 'w1', 'held', T0 + 1),
      attempt: null,
      lastError: 'endpoint is disabled',
      lastStatusCode: null,
    };
    const failed = aResult('dlv_3' as DeliveryId, 'w2', 'failed', T0 + 2, {
      attempt: {
        ...aResult('dlv_3' as DeliveryId, 'w2', 'failed', T0).attempt!,
        error: 'ECONNRESET',
        responseBody: null,
        statusCode: null,
      },
    });
    const results = [withAttempt, without, failed];
    expect(decodeResults(encodeResults(results))).toEqual(results);
    expect(decodeResults(encodeResults([]))).toEqual([]);
  });

  it("reads claimed rows in its column order, with SQLite's 0/1 manual, extra columns left out", () => {
    const claimed: ClaimedDelivery[] = [1, 2].map((i) => ({
      id: `dlv_${i}` as DeliveryId,
      eventId: `evt_${i}` as EventId,
      endpointId: 'ep_1' as EndpointId,
      accountId: 'acc_1' as AccountId,
      payload: `{"name":"PACKAGE_COMPLETE","packageId":"p${i}"}`,
      attempts: i,
      cycleAttempts: i - 1,
      endpointVersion: 7,
      manual: i === 2,
      traceParent: i === 2 ? `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` : null,
    }));
    // As the claim reads them: the layout's columns, then its own (seq, due time).
    const rows = claimed.map((c, i) => [
      c.id,
      c.eventId,
      c.endpointId,
      c.accountId,
      c.payload,
      c.attempts,
      c.cycleAttempts,
      c.endpointVersion,
      c.manual ? 1 : 0,
      c.traceParent,
      100 + i,
      T0,
    ]);
    expect(decodeClaimed(flattenClaimedRows(rows))).toEqual(claimed);
    expect(decodeClaimed(flattenClaimedRows([]))).toEqual([]);
  });

  it('round-trips publish batches: idempotency or none, several endpoints, ordering keys', () => {
    const accountId = 'acc_1' as AccountId;
    const endpoints = ['ep_1', 'ep_2'] as EndpointId[];
    const batches = [
      anIngestBatch({ accountId, endpoints, count: 3, receivedAt: T0 }).batch,
      anIngestBatch({
        accountId,
        endpoints: [endpoints[0]!],
        count: 1,
        receivedAt: T0 + 1,
        status: 'held',
        orderingKey: 'package',
        idempotency: { key: 'order-42', requestHash: 'abc' },
      }).batch,
      anIngestBatch({ accountId, endpoints: [], count: 2, receivedAt: T0 + 2 }).batch,
    ];
    expect(decodeIngest(encodeIngest(batches))).toEqual(batches);
  });

  it('round-trips the lease of a handed-over delivery, and leaves it undefined when there is none', () => {
    const accountId = 'acc_1' as AccountId;
    const endpoints = ['ep_1', 'ep_2'] as EndpointId[];
    const leased = anIngestBatch({
      accountId,
      endpoints,
      count: 2,
      receivedAt: T0,
      lease: { owner: 'worker-a', until: T0 + 60_000 },
    }).batch;
    const mixed = anIngestBatch({ accountId, endpoints, receivedAt: T0 + 1 }).batch;
    const [event] = mixed.events;
    const [first, second] = event!.deliveries;
    const partly = {
      ...mixed,
      events: [
        { ...event!, deliveries: [first!, { ...second!, lease: { owner: 'w2', until: 0 } }] },
      ],
    };
    const decoded = decodeIngest(encodeIngest([leased, partly]));
    expect(decoded).toEqual([leased, partly]);
    const leases = decoded.flatMap((b) =>
      b.events.flatMap((e) => e.deliveries.map((d) => d.lease)),
    );
    expect(leases).toEqual([
      { owner: 'worker-a', until: T0 + 60_000 },
      { owner: 'worker-a', until: T0 + 60_000 },
      { owner: 'worker-a', until: T0 + 60_000 },
      { owner: 'worker-a', until: T0 + 60_000 },
      undefined,
      { owner: 'w2', until: 0 },
    ]);
    // toEqual treats a missing field as undefined; the adapters test `d.lease` for truth.
    expect(decoded[1]!.events[0]!.deliveries[0]!.lease).toBeUndefined();
  });
});
