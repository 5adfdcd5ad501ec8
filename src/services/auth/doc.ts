// Renders docs/auth-types.md from the auth type registry (`npm run docs`; a test keeps it in step).

import { AUTH_TYPE_DECLARATIONS, type AuthorizationKind } from '../../domain/auth-types.js';
import {
  CALLBACK_FIELDS,
  CREDENTIALS_FIELDS,
  NATIVE_FIELDS,
  type SecretFields,
} from '../secret-binding.js';

const AUTHORIZATION: { readonly [K in AuthorizationKind]: string } = {
  none: 'none',
  basic: '`Basic <key>`',
  bearer: '`Bearer <access token>` from the token manager',
};

export function renderAuthTypesDoc(): string {
  const rows = AUTH_TYPE_DECLARATIONS.map((d) => {
    const secrets = d.secrets.map((s) => `\`${s.name}\` (${s.destination})`).join(', ') || 'none';
    const oauth = d.oauth
      ? ` (${[d.oauth.flavor, d.oauth.grantType].filter(Boolean).join(', ')})`
      : '';
    return `| ${d.label} | \`${d.type}\`${oauth} | ${secrets} | ${AUTHORIZATION[d.authorization]} | ${d.tracksStatus ? 'yes' : 'no'} | ${d.doc} |`;
  });
  const names = new Set(AUTH_TYPE_DECLARATIONS.flatMap((d) => d.secrets.map((s) => s.name)));
  const field = (fields: SecretFields, name: keyof SecretFields) => `\`${fields[name]}\``;
  const fieldRows = [...names, 'customHeaders' as const].map(
    (name) =>
      `| \`${name}\` | ${field(NATIVE_FIELDS, name)} | ${field(CALLBACK_FIELDS, name)} | ${field(CREDENTIALS_FIELDS, name)} |`,
  );
  return `# Auth types

<!-- Generated from src/domain/auth-types.ts by \`npm run docs\`; a test keeps it in step. -->

How a listener checks that a delivery comes from Herald. \`/v1\` takes it as the endpoint's \`auth\`
(its \`type\`), OneSpan's \`/api/callback\` as \`authType\`, \`key\` and \`oauthSetting\`
([OneSpan compatibility](onespan.md)). Secrets are write-only: responses show them masked, and a
masked value sent back keeps the stored one while its destination's origin stays; when the change
moves it, the request is refused with \`secret_required\` naming the field to send again.

| Auth type | Stored as | Secrets (where each may go) | Authorization sent | Credential can die | Use |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

"Credential can die": the endpoint's \`auth.status\` starts \`unverified\`, becomes \`ok\` after a
delivery, and \`reauthorization_required\` holds its deliveries until new credentials come.

## Where requests name each secret

The field a \`secret_required\` refusal names (custom header values are bound to the callback URL
like a Basic key).

| Secret | \`/v1/endpoints\` | \`/api/callback\` | \`PUT /v1/endpoints/{id}/credentials\` |
| --- | --- | --- | --- |
${fieldRows.join('\n')}
`;
}
