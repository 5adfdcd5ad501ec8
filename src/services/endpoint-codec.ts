// Endpoint rows hold their secrets sealed; services work with the opened form. Custom header
// values may be credentials (an API key header), so they are sealed with the other secrets and
// the row keeps only the header names; rows written before that keep their values in the clear
// until the endpoint is next changed.

import type { Endpoint, EndpointSecrets, KeyValue } from '../domain/endpoint.js';
import type { EndpointRow } from '../store/port.js';
import type { SecretBox } from './secret-box.js';

/** The sealed blob: the endpoint's secrets and its custom header values, in order. */
type Sealed = EndpointSecrets & { readonly headerValues?: readonly string[] };

export function openEndpoint(row: EndpointRow, box: SecretBox): Endpoint {
  const { secretsCiphertext, ...rest } = row;
  const { headerValues, ...secrets }: Sealed =
    secretsCiphertext === null ? {} : (JSON.parse(box.open(secretsCiphertext)) as Sealed);
  const customHeaders: KeyValue[] = row.customHeaders.map((h, i) => ({
    key: h.key,
    value: headerValues?.[i] ?? h.value,
  }));
  return { ...rest, customHeaders, secrets };
}

export function sealEndpoint(endpoint: Endpoint, box: SecretBox): EndpointRow {
  const { secrets, customHeaders, ...rest } = endpoint;
  const sealed: Sealed =
    customHeaders.length > 0
      ? { ...secrets, headerValues: customHeaders.map((h) => h.value) }
      : secrets;
  const empty = Object.values(sealed).every((v) => v === undefined);
  return {
    ...rest,
    customHeaders: customHeaders.map((h) => ({ key: h.key, value: '' })),
    secretsCiphertext: empty ? null : box.seal(JSON.stringify(sealed)),
  };
}
