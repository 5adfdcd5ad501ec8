// Regenerates the docs that are derived from code: docs/configuration.md, docs/auth-types.md.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../src/config/doc.js';
import { renderAuthTypesDoc } from '../src/services/auth/doc.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
writeFileSync(new URL('../docs/auth-types.md', import.meta.url), renderAuthTypesDoc());
