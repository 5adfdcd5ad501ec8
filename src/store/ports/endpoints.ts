// Endpoints: where events go, with their auth, options and state.

import type { AuthStatus, Endpoint, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, EndpointId } from '../../domain/ids.js';
import type { OperationalEventRecord } from './operations.js';

/** An endpoint as stored: its secrets only as ciphertext (EndpointSecrets, sealed; null if none). */
export type EndpointRow = Omit<Endpoint, 'secrets'> & { readonly secretsCiphertext: string | null };

export interface EndpointStore {
  insertEndpoint(row: EndpointRow): Promise<void>;
  /**
   * Writes `row` if the stored version is `row.version - 1`; false when someone changed it first.
   * `raised`: operational events the change raises, stored in the same transaction (see
   * insertOperationalEvent), or not at all when the write does not happen.
   */
  updateEndpoint(row: EndpointRow, raised?: readonly OperationalEventRecord[]): Promise<boolean>;
  getEndpoint(id: EndpointId): Promise<EndpointRow | undefined>;
  findEndpointByOrigin(accountId: AccountId, origin: Origin): Promise<EndpointRow | undefined>;
  listEndpoints(accountId: AccountId): Promise<EndpointRow[]>;
  /** Deletes the endpoint with its deliveries and their attempts. */
  deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean>;
  /** Which of `ids` still exist (the others were deleted, perhaps by another process). */
  existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]>;
  countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  >;
}
