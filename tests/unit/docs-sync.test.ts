// Docs derived from code stay in step with it: every error code is documented, the
// configuration reference is the generated one, and the version matches package.json.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../src/config/doc.js';
import { OPERATIONAL_EVENT_TYPES } from '../../src/domain/operational.js';
import { ErrorCodes } from '../../src/errors.js';
import { VERSION } from '../../src/version.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs in step with code', () => {
  it('docs/errors.md lists every error code with its status', () => {
    const doc = read('docs/errors.md');
    for (const [code, status] of Object.entries(ErrorCodes)) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it('docs/errors.md lists every operational event type, whether it is emailed, and its doc', () => {
    const doc = read('docs/errors.md');
    for (const [type, info] of Object.entries(OPERATIONAL_EVENT_TYPES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${type}\``));
      expect(row, type).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells[2], type).toBe(info.emailed ? 'yes' : 'no');
      expect(cells[3], type).toBe(info.doc);
    }
  });

  it('docs/configuration.md is generated from the settings (run `npm run docs`)', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigurationDoc());
  });

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });
});
