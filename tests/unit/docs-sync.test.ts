// Docs derived from code stay in step with it: every error code is documented, the
// configuration reference and the auth type table are the generated ones, and the version matches
// package.json.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../src/config/doc.js';
import { AUTH_TYPES } from '../../src/domain/auth-types.js';
import { OPERATIONAL_EVENT_TYPES } from '../../src/domain/operational.js';
import { ErrorCodes } from '../../src/errors.js';
import { renderAuthTypesDoc } from '../../src/services/auth/doc.js';
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

  it('docs/auth-types.md is generated from the auth type registry (run `npm run docs`)', () => {
    expect(read('docs/auth-types.md')).toBe(renderAuthTypesDoc());
  });

  it("docs/onespan.md lists the registry's auth types as OneSpan's authType values", () => {
    const listed = /`authType` \(([^)]*)\)/.exec(read('docs/onespan.md'))?.[1];
    expect(listed).toBe(AUTH_TYPES.map((t) => `\`${t}\``).join(', '));
  });

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });
});
