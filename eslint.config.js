// Lint: typescript-eslint's recommended rules plus the import boundaries of docs/architecture.md:
// the layer rule (scripts/layers.mjs: nothing imports from a layer above its own) and, within
// that, the boundaries below.
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { layersRule } from './scripts/layers.mjs';

const SRC = fileURLToPath(new URL('./src', import.meta.url));

const boundary = (from, forbidden, message) => ({
  files: [from],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', '**/dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { herald: { rules: { layers: layersRule(SRC) } } },
    rules: { 'herald/layers': 'error' },
  },
  {
    // Tests read untyped JSON bodies; `any` there is honest.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  boundary(
    'src/domain/**',
    [
      '**/store/**',
      '**/net/**',
      '**/api/**',
      '**/services/**',
      'node:*',
      'undici',
      'better-sqlite3',
      'pg',
    ],
    'domain/ is pure: no I/O and no outer layers.',
  ),
  {
    files: ['packages/client/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./)',
              message:
                '@herald/client has no dependencies and runs beyond Node: Web APIs and its own files only.',
            },
          ],
        },
      ],
    },
  },
  boundary(
    'src/{api,cli,console}/**',
    ['**/store/sqlite/**', '**/store/postgres/**', '**/queue/**', '**/delivery/**'],
    'Driving adapters call services/, never the store adapters, queue or delivery directly.',
  ),
  boundary(
    'src/console/**',
    [
      '**/store/sqlite/**',
      '**/store/postgres/**',
      '**/queue/**',
      '**/delivery/**',
      '**/api/**',
      '**/cli/**',
      '**/oauth/**',
      '**/net/**',
    ],
    'The console calls services/ (the same ones as the API); main.ts mounts it.',
  ),
  boundary(
    'src/{services,queue,delivery,oauth}/**',
    ['**/store/sqlite/**', '**/store/postgres/**', '**/api/**', '**/cli/**'],
    'Business code sees only store/port.ts; main.ts picks the adapter.',
  ),
);
