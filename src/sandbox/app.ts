// Composes the sandbox's HTTP surface: one route module per Salesforce resource, plus the
// /_sandbox/ controls. Unknown paths and crashes answer in the REST API's JSON-array error shape.

import { Hono } from 'hono';
import { authorizeRoutes } from './authorize.js';
import { controlRoutes } from './controls.js';
import { identityRoutes } from './identity.js';
import { introspectRoutes } from './introspect.js';
import { listenerRoutes } from './listener.js';
import { revokeRoutes } from './revoke.js';
import type { SandboxState } from './state.js';
import { tokenRoutes } from './token-endpoint.js';

export function createSandboxApp(state: SandboxState): Hono {
  const app = new Hono();
  for (const routes of [
    tokenRoutes(state),
    authorizeRoutes(state),
    revokeRoutes(state),
    introspectRoutes(state),
    identityRoutes(state),
    listenerRoutes(state),
    controlRoutes(state),
  ]) {
    app.route('/', routes);
  }
  app.notFound((c) =>
    c.json([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }], 404),
  );
  // A sandbox bug should be loud in the test that hit it, so the message is passed through.
  app.onError((err, c) => c.json([{ errorCode: 'UNKNOWN_EXCEPTION', message: err.message }], 500));
  return app;
}
