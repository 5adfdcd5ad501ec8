// The page after an endpoint is created, from the form or at the end of a Salesforce login
// (connect.tsx): its signing secret, shown this once.

import type { Endpoint } from '../../domain/endpoint.js';
import { chromeOf } from '../chrome.js';
import type { ConsoleContext, ConsoleDeps } from '../context.js';
import { Page } from '../layout.js';

/** A new endpoint, with its signing secret shown this once. */
export async function createdPage(
  c: ConsoleContext,
  deps: ConsoleDeps,
  endpoint: Endpoint,
  signingSecret: string | null,
  notice: string,
) {
  return c.html(
    <Page title="Endpoint created" section="endpoints" chrome={await chromeOf(c, deps)}>
      <h1>Endpoint created</h1>
      <p class="notice ok" role="status">
        {notice}
      </p>
      {signingSecret ? (
        <div class="secret-once">
          <h2>Signing secret</h2>
          <p>
            Copy it now: it is shown this once. Your listener verifies the{' '}
            <code>webhook-signature</code> header with it.
          </p>
          <p>
            <code id="signing-secret">{signingSecret}</code>
          </p>
        </div>
      ) : null}
      <p>
        <a class="button" href={`/console/endpoints/${endpoint.id}`}>
          Go to the endpoint
        </a>
      </p>
    </Page>,
    201,
  );
}
