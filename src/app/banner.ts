// What a start prints for people: where Herald listens, its store, its URLs, and the API key it
// generated on first start (shown once, and only on a terminal, unless told otherwise).

import type { Config } from '../config/settings.js';
import type { Store } from '../store/port.js';
import { VERSION } from '../version.js';
import { apiKeyFile } from './data-dir.js';
import { servesApi } from './roles.js';

export interface BannerOptions {
  /** Printed lines for people. */
  readonly print: (line: string) => void;
  /** Where the generated key is shown; undefined: stderr when it is a terminal; null: nowhere. */
  readonly showKey: ((lines: readonly string[]) => void) | null | undefined;
}

export function printBanner(
  config: Config,
  store: Store,
  listening: { readonly port: number; readonly url: string; readonly generatedKey: string | null },
  options: BannerOptions,
): void {
  const { print } = options;
  const { port, url, generatedKey } = listening;
  print(
    `Herald ${VERSION} listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port} (role ${config.role})`,
  );
  print(`Store: ${store.description}`);
  if (servesApi(config)) {
    print(
      `API: ${url}/v1  ·  OneSpan-compatible: ${url}/api/callback  ·  OpenAPI: ${url}/openapi.json`,
    );
    print(`Console: ${url}/console/`);
  }
  if (!generatedKey) return;
  const file = apiKeyFile(config.dataDir);
  const showKey =
    options.showKey === undefined
      ? process.stderr.isTTY
        ? (lines: readonly string[]) => process.stderr.write(`${lines.join('\n')}\n`)
        : null
      : options.showKey;
  if (showKey) {
    showKey([
      `API key of the default account (shown once; also written to ${file}):`,
      `  ${generatedKey}`,
    ]);
  } else {
    print(`API key of the default account written to ${file} (shown only on a terminal)`);
  }
}
