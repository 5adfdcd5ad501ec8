// The OpenAPI document as a machine reads it: valid OpenAPI 3.1 (a real validator), every route the
// app registers described and nothing else, every operation named and its errors listed (checked
// against real answers), and a TypeScript client generated from it that compiles and really calls
// Herald.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Services } from '../../src/services/index.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';

const ROOT = resolve(import.meta.dirname, '../..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface OperationDoc {
  operationId?: string;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}

/** Routes anyone may call: no API key, so no 401 or 403 to describe. */
const UNAUTHENTICATED = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/'];
describe('the OpenAPI document', () => {
  let herald: TestHerald;
  let listener: Listener;
  let doc: { paths: Record<string, Partial<Record<string, OperationDoc>>> } & Record<
    string,
    unknown
  >;
  const work = mkdtempSync(join(tmpdir(), 'herald-openapi-'));

  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener();
    const served = await fetch(`${herald.url}/openapi.json`);
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await served.json()) as typeof doc;
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
    rmSync(work, { recursive: true, force: true });
  });

  function operations(): Array<{ method: string; path: string; op: OperationDoc }> {
    return Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method]! })),
    );
  }

  it('is valid OpenAPI 3.1, with every reference resolving', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Dereferencing fails on a $ref to a schema that is not there.
    expect(() => validator.resolveRefs()).not.toThrow();
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)];
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    expect(refs.length).toBeGreaterThan(50);
    for (const [, name] of refs) expect(schemas, name).toHaveProperty(name!);
  });

  it('describes every route the app serves, and no route it does not', () => {
    const app = createApp({
      // Only the routes are read here, no request is made: the services are never called.
      services: {} as Services,
      logger: silentLogger(),
      version: 'test',
      api: true,
      bodyTimeoutMs: 1000,
    });
    const served = app.routes
      .filter((r) => r.method !== 'ALL') // middleware, and the 405 answers of /api/callback
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const described = operations().map(({ method, path }) => `${method} ${path}`);
    expect(served.length).toBeGreaterThan(35);
    expect([...new Set(served)].sort()).toEqual([...described].sort());
  });

  it('names every operation once and describes its answers with schemas', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations()) {
      const where = `${method} ${path}`;
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === '204' || path === '/openapi.json') continue;
        expect(response.content, `${where} ${status}`).toBeDefined();
        for (const media of Object.values(response.content!)) {
          expect(media.schema, `${where} ${status}`).not.toEqual({ type: 'object' });
        }
      }
      if (UNAUTHENTICATED.includes(path)) continue;
      const errorSchema = path.startsWith('/api/')
        ? { 'application/json': { schema: { $ref: '#/components/schemas/OneSpanError' } } }
        : { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
      for (const status of ['401', '403', '500', '503']) {
        expect(op.responses[status]?.content, `${where} ${status}`).toEqual(errorSchema);
      }
      if (op.requestBody) {
        for (const status of ['400', '408', '413'])
          expect(op.responses, where).toHaveProperty(status);
      }
      if (path.includes('{')) expect(op.responses, where).toHaveProperty('404');
      if (op.parameters?.some((p) => p.in === 'query')) {
        expect(op.responses, where).toHaveProperty('400');
      }
    }
  });

  it('lists the statuses real requests get: no key, unknown ids, an unknown query parameter', async () => {
    const concrete = (path: string) =>
      path
        .replace('{origin}', 'salesforceOauth2')
        .replace(/\{(\w+)\}/g, (_, name: string) =>
          name === 'accountId' ? 'acc_0000000000000000000000' : 'ep_0000000000000000000000',
        );
    for (const { method, path, op } of operations()) {
      if (UNAUTHENTICATED.includes(path)) continue;
      const url = `${herald.url}${concrete(path)}`;
      const anonymous = await fetch(url, { method: method.toUpperCase() });
      expect(Object.keys(op.responses), `${method} ${path} without a key`).toContain(
        String(anonymous.status),
      );
      const authorised = await fetch(`${url}${method === 'get' ? '?unknown=1' : ''}`, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: method === 'get' || method === 'delete' ? undefined : '{}',
      });
      expect(Object.keys(op.responses), `${method} ${path}: ${authorised.status}`).toContain(
        String(authorised.status),
      );
    }
  });

  it('generates a TypeScript client that compiles, and whose typed calls work', async () => {
    const types = astToString(await openapiTS(structuredClone(doc) as never));
    writeFileSync(join(work, 'herald-api.ts'), types);
    writeFileSync(
      join(work, 'client.ts'),
      `import type { paths } from './herald-api.js';

type CreateBody = paths['/v1/endpoints']['post']['requestBody']['content']['application/json'];
type Created = paths['/v1/endpoints']['post']['responses'][201]['content']['application/json'];
type Problem = paths['/v1/endpoints']['post']['responses'][422]['content']['application/problem+json'];
type DeliveryPage = paths['/v1/deliveries']['get']['responses'][200]['content']['application/json'];
type DeliveryQuery = NonNullable<paths['/v1/deliveries']['get']['parameters']['query']>;
type Published = paths['/v1/events']['post']['responses'][202]['content']['application/json'];

async function call<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const problem = (await response.json()) as Problem;
    throw new Error(problem.code + ': ' + problem.detail);
  }
  return (await response.json()) as T;
}

export async function createEndpoint(base: string, key: string, body: CreateBody): Promise<string> {
  const created = await call<Created>(base, key, 'POST', '/v1/endpoints', body);
  const secret: string | undefined = created.signingSecret;
  void secret;
  return created.id;
}

export async function publish(base: string, key: string, packageId: string): Promise<string> {
  const published = await call<Published>(base, key, 'POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId });
  return 'id' in published ? published.id : published.ids[0]!;
}

export async function statuses(base: string, key: string, query: DeliveryQuery): Promise<string[]> {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const page = await call<DeliveryPage>(base, key, 'GET', '/v1/deliveries?' + params.toString());
  const next: string | null = page.next;
  void next;
  return page.data.map((d) => d.status);
}

const typed: DeliveryQuery = { packageId: 'p', status: 'held', limit: 10 };
// @ts-expect-error: not a query parameter of GET /v1/deliveries
const misspelt: DeliveryQuery = { package: 'p' };
// @ts-expect-error: not a delivery status
const unknownStatus: DeliveryQuery = { status: 'lost' };
export { typed, misspelt, unknownStatus };
`,
    );
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
          outDir: 'out',
        },
        files: ['client.ts', 'herald-api.ts'],
      }),
    );
    writeFileSync(join(work, 'package.json'), '{"type":"module"}');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', work]);

    const client = (await import(pathToFileURL(join(work, 'out/client.js')).href)) as {
      createEndpoint(base: string, key: string, body: unknown): Promise<string>;
      publish(base: string, key: string, packageId: string): Promise<string>;
      statuses(base: string, key: string, query: unknown): Promise<string[]>;
    };
    const id = await client.createEndpoint(herald.url, TEST_API_KEY, {
      url: listener.url,
      events: ['*'],
    });
    expect(id).toMatch(/^ep_/);
    await client.publish(herald.url, TEST_API_KEY, 'typed-1');
    await listener.waitFor(1);
    const seen = await client.statuses(herald.url, TEST_API_KEY, {
      packageId: 'typed-1',
      endpoint: id,
    });
    expect(seen).toHaveLength(1);
  });
});
