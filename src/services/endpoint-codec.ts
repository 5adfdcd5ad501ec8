// Endpoint rows hold their secrets sealed; services work with the opened form.

import type { Endpoint, EndpointSecrets } from '../domain/endpoint.js';
import type { EndpointRow } from '../store/port.js';
import type { SecretBox } from './secret-box.js';

export function openEndpoint(row: EndpointRow, box: SecretBox): Endpoint {
  const { secretsCiphertext, ...rest } = row;
  const secrets: EndpointSecrets =
    secretsCiphertext === null ? {} : (JSON.parse(box.open(secretsCiphertext)) as EndpointSecrets);
  return { ...rest, secrets };
}

export function sealEndpoint(endpoint: Endpoint, box: SecretBox): EndpointRow {
  const { secrets, ...rest } = endpoint;
  const empty = Object.values(secrets).every((v) => v === undefined);
  return { ...rest, secretsCiphertext: empty ? null : box.seal(JSON.stringify(secrets)) };
}
