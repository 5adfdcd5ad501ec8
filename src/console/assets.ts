// The console's static files: its own stylesheet and script, htmx and uPlot (from npm, copied
// into dist/ at build by scripts/copy-assets.mjs; read from node_modules when running from the
// sources). Each is served under a name with its content hash, cached for a year as immutable,
// so a new version is a new URL and nothing is ever fetched from anywhere else.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly url: string;
}

/** Vendor files: their name in dist's assets/vendor/, and where npm puts them. */
export const VENDOR_FILES = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
} as const;
const OWN_FILES = ['console.css', 'console.js'] as const;
export type AssetName = keyof typeof VENDOR_FILES | (typeof OWN_FILES)[number];

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

function readVendor(name: keyof typeof VENDOR_FILES): Buffer {
  const copied = fileURLToPath(new URL(`./assets/vendor/${name}`, import.meta.url));
  if (existsSync(copied)) return readFileSync(copied);
  return readFileSync(createRequire(import.meta.url).resolve(VENDOR_FILES[name]));
}

export class Assets {
  private readonly byName = new Map<AssetName, Asset>();
  private readonly byUrl = new Map<string, Asset>();

  constructor(readonly base: string) {
    const load = (name: AssetName, body: Buffer) => {
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
      const dot = name.lastIndexOf('.');
      const file = `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
      const asset = { body, type: TYPES[name.slice(dot + 1)]!, url: `${base}/${file}` };
      this.byName.set(name, asset);
      this.byUrl.set(file, asset);
    };
    for (const name of OWN_FILES) {
      load(name, readFileSync(fileURLToPath(new URL(`./assets/${name}`, import.meta.url))));
    }
    for (const name of Object.keys(VENDOR_FILES) as Array<keyof typeof VENDOR_FILES>) {
      load(name, readVendor(name));
    }
  }

  url(name: AssetName): string {
    return this.byName.get(name)!.url;
  }

  /** The response for a fingerprinted file name, or undefined for a name it does not know. */
  serve(file: string): Response | undefined {
    const asset = this.byUrl.get(file);
    if (!asset) return undefined;
    return new Response(new Uint8Array(asset.body), {
      headers: {
        'content-type': asset.type,
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      },
    });
  }
}
