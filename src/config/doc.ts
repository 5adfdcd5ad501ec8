// Renders docs/configuration.md from the settings table (`npm run docs`).

import { OTEL_SETTINGS, SETTINGS } from './settings.js';

export function renderConfigurationDoc(): string {
  const rows = SETTINGS.map((s) => {
    const flag = s.flag ? `\`--${s.flag}\`` : '';
    const dflt =
      s.defaultText ?? (s.default === null ? 'none' : `\`${JSON.stringify(s.default)}\``);
    return `| \`${s.env}\` | ${flag} | ${dflt} | ${s.doc}${s.secret ? ' **Secret.**' : ''} |`;
  });
  return `# Configuration

<!-- Generated from src/config/settings.ts by \`npm run docs\`; a test keeps it in step. -->

Herald reads its settings once at start-up: defaults, then environment variables (\`HERALD_*\`),
then flags of \`herald serve\`. Invalid values stop the start with a message naming the setting.

| Environment | Flag | Default | Meaning |
| --- | --- | --- | --- |
${rows.join('\n')}

Durations are written as \`500ms\`, \`30s\`, \`5m\`, \`2h\` or \`5d\`.

## Traces (OpenTelemetry)

Traces are configured only by the standard OpenTelemetry variables, and are off (the SDK is not
even loaded) unless an OTLP endpoint is set. Herald reads these; the SDK reads the other standard
ones it knows from the environment (\`OTEL_TRACES_SAMPLER\`, \`OTEL_TRACES_SAMPLER_ARG\`,
\`OTEL_RESOURCE_ATTRIBUTES\`, \`OTEL_BSP_*\`, \`OTEL_EXPORTER_OTLP_TIMEOUT\`, ...). See
[operations](operations.md#traces).

| Environment | Meaning |
| --- | --- |
${OTEL_SETTINGS.map((s) => `| \`${s.env}\` | ${s.doc} |`).join('\n')}

## Files in the data dir (embedded store)

| File | What it is |
| --- | --- |
| \`herald.db\` (+ \`-wal\`, \`-shm\`) | the SQLite store (WAL mode) |
| \`master.key\` | the generated master key (mode 0600), when \`HERALD_MASTER_KEY\` is not set; back it up with the database: without it the stored secrets cannot be read |
| \`api-key\` | the API key generated on first start (mode 0600), when \`HERALD_API_KEY\` is not set |
| \`herald.pid\` | the process using the data dir; a second server on the same dir refuses to start |

## CLI connection settings

The client commands (\`events publish\`, \`endpoints\`, \`deliveries\`, \`recover\`) talk to a running
server: \`--url\` / \`HERALD_URL\` (default \`http://127.0.0.1:$HERALD_PORT\`) and \`--api-key\` /
\`HERALD_API_KEY\` (default: the key in \`<data dir>/api-key\`).
`;
}
