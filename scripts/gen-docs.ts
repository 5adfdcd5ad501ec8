// Regenerates the docs that are derived from code: docs/configuration.md.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../src/config/doc.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
