// The endpoint form, for a new endpoint and for changing one: URL, events grouped as OneSpan's
// admin screen does, auth with the fields of its type, custom headers, options. Secrets are
// write-only: on a change, an empty secret field keeps the stored secret (shown masked).

import { AUTH_FORM_CHOICES } from '../../domain/auth-types.js';
import type { Endpoint } from '../../domain/endpoint.js';
import { formatDuration } from '../../domain/retry.js';
import type { FieldProblem } from '../../errors.js';
import { maskSecret } from '../../domain/endpoint.js';
import { OPERATIONAL_EVENT_TYPES, OPERATIONAL_TYPE_NAMES } from '../../domain/operational.js';
import type { Session } from '../session.js';
import { Csrf } from '../layout.js';
import {
  CUSTOM_HEADER_ROWS,
  CUSTOM_PARAMETER_ROWS,
  EVENT_GROUPS,
  SALESFORCE_CONNECT,
  all,
  text,
  type Form,
} from '../forms.js';
import { Field } from '../ui.js';
import { SALESFORCE_LOGIN_URLS } from '../../services/web-connect.js';

/** What is stored, masked, for the placeholders of the secret fields. */
export interface Masks {
  readonly key?: string | undefined;
  readonly clientSecret?: string | undefined;
  readonly refreshToken?: string | undefined;
}

export function masksOf(endpoint: Endpoint): Masks {
  const mask = (s: string | undefined) => (s === undefined ? undefined : maskSecret(s));
  return {
    key: mask(endpoint.secrets.basicKey),
    clientSecret: mask(endpoint.secrets.clientSecret),
    refreshToken: mask(endpoint.secrets.refreshToken),
  };
}

/** The form's fields as they show an endpoint (secrets left empty). */
export function formOf(e: Endpoint): Form {
  const form: Form = {
    url: e.url,
    description: e.description ?? '',
    events: [...e.events],
    authType: e.authType,
    timeoutSeconds: String(e.options.timeoutMs / 1000),
    maxConcurrency: String(e.options.maxConcurrency),
    rateLimit: e.options.rateLimit === null ? '' : String(e.options.rateLimit),
    ordering: e.options.ordering,
    retrySchedule: e.options.retrySchedule?.map(formatDuration).join(', ') ?? '',
    signing: e.secrets.signingSecrets ? 'on' : '',
  };
  if (e.oauth) {
    Object.assign(form, {
      grantType: e.oauth.grantType,
      tokenUrl: e.oauth.tokenUrl,
      clientId: e.oauth.clientId,
      scope: e.oauth.scope ?? '',
      authMechanism: e.oauth.authMechanism,
    });
    e.oauth.customParameters.forEach((p, i) => {
      form[`param${i}Key`] = p.key;
      form[`param${i}Value`] = p.value;
    });
  }
  e.customHeaders.forEach((h, i) => {
    form[`header${i}Key`] = h.key;
    form[`header${i}Value`] = h.value;
  });
  return form;
}

/** Where to log in to Salesforce: production, sandbox, or a My Domain (or other) URL. */
export function LoginChoice(props: { current: string | undefined }) {
  const choice =
    props.current === SALESFORCE_LOGIN_URLS.production
      ? 'production'
      : props.current === SALESFORCE_LOGIN_URLS.sandbox
        ? 'sandbox'
        : props.current
          ? 'custom'
          : 'production';
  const radio = (value: string, label: string) => (
    <label>
      <input type="radio" name="login" value={value} checked={choice === value} /> {label}
    </label>
  );
  return (
    <fieldset>
      <legend>Log in at</legend>
      <div class="checks">
        {radio('production', 'Production (login.salesforce.com)')}
        {radio('sandbox', 'Sandbox (test.salesforce.com)')}
        {radio('custom', 'My Domain or another URL')}
      </div>
      <Field id="login-url" label="My Domain URL" hint="when you log in at your own domain">
        <input
          id="login-url"
          name="loginUrl"
          type="url"
          value={choice === 'custom' ? (props.current ?? '') : ''}
          placeholder="https://yourcompany.my.salesforce.com"
        />
      </Field>
    </fieldset>
  );
}

export const NEW_ENDPOINT_FORM: Form = {
  authType: 'NONE',
  timeoutSeconds: '15',
  maxConcurrency: '32',
  ordering: 'none',
  signing: 'on',
};

function Secret(props: { id: string; name: string; label: string; mask: string | undefined }) {
  return (
    <Field
      id={props.id}
      label={props.mask ? `Replace ${props.label.toLowerCase()}` : props.label}
      hint={
        props.mask
          ? `stored: ${props.mask}; leave empty to keep it`
          : 'write-only: never shown again'
      }
    >
      <input
        id={props.id}
        name={props.name}
        type="password"
        autocomplete="off"
        spellcheck={false}
      />
    </Field>
  );
}

function Pairs(props: { prefix: string; rows: number; label: string; values: Form }) {
  const rows = [];
  for (let i = 0; i < props.rows; i++) {
    rows.push(
      <div class="grid">
        <Field id={`${props.prefix}${i}Key`} label={`${props.label} ${i + 1} name`}>
          <input
            id={`${props.prefix}${i}Key`}
            name={`${props.prefix}${i}Key`}
            type="text"
            value={text(props.values, `${props.prefix}${i}Key`)}
          />
        </Field>
        <Field id={`${props.prefix}${i}Value`} label={`${props.label} ${i + 1} value`}>
          <input
            id={`${props.prefix}${i}Value`}
            name={`${props.prefix}${i}Value`}
            type="text"
            value={text(props.values, `${props.prefix}${i}Value`)}
          />
        </Field>
      </div>,
    );
  }
  return <>{rows}</>;
}

export function EndpointForm(props: {
  action: string;
  submit: string;
  session: Session;
  values: Form;
  masks: Masks;
  problems?: readonly FieldProblem[] | undefined;
  error?: string | undefined;
  /** For a new endpoint: the callback URL of connecting Salesforce before it is created. */
  connectCallback?: string | undefined;
}) {
  const v = props.values;
  const events = all(v, 'events');
  const known = new Set([
    ...EVENT_GROUPS.flatMap((g) => g.events.map(([n]) => n)),
    ...OPERATIONAL_TYPE_NAMES,
  ]);
  const others = events.filter((e) => e !== '*' && !known.has(e));
  const auth = text(v, 'authType') || 'NONE';
  const option = (value: string, label: string, current: string) => (
    <option value={value} selected={value === current}>
      {label}
    </option>
  );
  return (
    <form method="post" action={props.action} class="stack" novalidate>
      <Csrf session={props.session} />
      {props.error ? (
        <div class="notice error" role="alert" id="form-error">
          <p>{props.error}</p>
          {props.problems && props.problems.length > 1 ? (
            <ul>
              {props.problems.map((p) => (
                <li>
                  <code>{p.path}</code>: {p.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <Field id="url" label="Listener URL" hint="where Herald POSTs each event">
        <input
          id="url"
          name="url"
          type="url"
          required
          value={text(v, 'url')}
          placeholder="https://listener.example.com/callback"
        />
      </Field>
      <Field id="description" label="Description" hint="optional">
        <input id="description" name="description" type="text" value={text(v, 'description')} />
      </Field>

      <fieldset>
        <legend>Events</legend>
        <div class="checks">
          <label>
            <input type="checkbox" name="events" value="*" checked={events.includes('*')} /> All
            events
          </label>
        </div>
        {EVENT_GROUPS.map((group) => (
          <fieldset>
            <legend>{group.title}</legend>
            <div class="checks">
              {group.events.map(([name, label]) => (
                <label>
                  <input
                    type="checkbox"
                    name="events"
                    value={name}
                    checked={events.includes(name)}
                  />
                  <span>
                    {label}
                    <span class="hint mono wire">{name}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        ))}
        <fieldset>
          <legend>Herald's operational events</legend>
          <p class="hint">
            Trouble with this account's other endpoints, delivered like any event (signed, retried).
            Not part of "All events"; an endpoint never receives events about itself.
          </p>
          <div class="checks">
            {OPERATIONAL_TYPE_NAMES.map((name) => (
              <label>
                <input type="checkbox" name="events" value={name} checked={events.includes(name)} />
                <span>
                  {OPERATIONAL_EVENT_TYPES[name].label}
                  <span class="hint mono wire">{name}</span>
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <Field
          id="otherEvents"
          label="Other event names"
          hint="comma-separated, e.g. events your platform added"
        >
          <input
            id="otherEvents"
            name="otherEvents"
            type="text"
            value={text(v, 'otherEvents') || others.join(', ')}
          />
        </Field>
      </fieldset>

      <fieldset>
        <legend>Authentication</legend>
        <Field id="authType" label="How the listener checks Herald">
          <select id="authType" name="authType" data-toggles="auth">
            {AUTH_FORM_CHOICES.map((c) => option(c.choice, c.label, auth))}
            {props.connectCallback
              ? option(SALESFORCE_CONNECT.choice, SALESFORCE_CONNECT.label, auth)
              : null}
          </select>
        </Field>
        <div data-section-of="auth" data-section="BASIC" class="stack">
          <Secret id="basicKey" name="basicKey" label="Callback key" mask={props.masks.key} />
        </div>
        <div data-section-of="auth" data-section="OAUTH2" class="stack">
          <Field id="grantType" label="Grant">
            <select id="grantType" name="grantType">
              {option('CLIENT_CREDENTIALS', 'Client credentials', text(v, 'grantType'))}
              {option('REFRESH_TOKEN', 'Refresh token', text(v, 'grantType'))}
            </select>
          </Field>
          <Field
            id="tokenUrl"
            label="Token URL"
            hint="e.g. https://login.salesforce.com/services/oauth2/token"
          >
            <input id="tokenUrl" name="tokenUrl" type="url" value={text(v, 'tokenUrl')} />
          </Field>
          <Field id="clientId" label="Client id" hint="Salesforce: the Consumer Key">
            <input id="clientId" name="clientId" type="text" value={text(v, 'clientId')} />
          </Field>
          <Secret
            id="clientSecret"
            name="clientSecret"
            label="Client secret"
            mask={props.masks.clientSecret}
          />
          <Secret
            id="refreshToken"
            name="refreshToken"
            label="Refresh token"
            mask={props.masks.refreshToken}
          />
          <Field id="scope" label="Scope" hint="optional">
            <input id="scope" name="scope" type="text" value={text(v, 'scope')} />
          </Field>
          <Field id="authMechanism" label="Client authentication at the token endpoint">
            <select id="authMechanism" name="authMechanism">
              {option('HEADER', 'HTTP Basic header', text(v, 'authMechanism') || 'HEADER')}
              {option('BODY', 'Form fields in the body', text(v, 'authMechanism'))}
            </select>
          </Field>
          <Pairs prefix="param" rows={CUSTOM_PARAMETER_ROWS} label="Token parameter" values={v} />
        </div>
        <div data-section-of="auth" data-section="SALESFORCE_KEY" class="stack">
          <Field
            id="salesforceKey"
            label={props.masks.refreshToken ? 'Replace Salesforce key' : 'Salesforce key'}
            hint={
              props.masks.refreshToken
                ? 'leave empty to keep the stored credential'
                : 'base64 of {"host", "client_id", "refresh_token" or "client_secret"}'
            }
          >
            <textarea
              id="salesforceKey"
              name="salesforceKey"
              autocomplete="off"
              spellcheck={false}
            ></textarea>
          </Field>
        </div>
        {props.connectCallback ? (
          <div data-section-of="auth" data-section="SALESFORCE_CONNECT" class="stack">
            <p>
              Creating the endpoint takes you to Salesforce to log in and allow access; it is
              created with the refresh token when you come back. The Connected App must list this
              callback URL exactly: <code id="new-redirect-uri">{props.connectCallback}</code>
            </p>
            <Field
              id="sfClientId"
              label="Connected App consumer key"
              hint="from the app's API (OAuth) settings"
            >
              <input id="sfClientId" name="sfClientId" type="text" value={text(v, 'sfClientId')} />
            </Field>
            <Field
              id="sfClientSecret"
              label="Connected App consumer secret"
              hint="only if the app requires it for the Web Server flow; write-only"
            >
              <input
                id="sfClientSecret"
                name="sfClientSecret"
                type="password"
                autocomplete="off"
                spellcheck={false}
              />
            </Field>
            <LoginChoice current={text(v, 'loginUrl') || undefined} />
          </div>
        ) : null}
      </fieldset>

      <fieldset>
        <legend>Custom headers</legend>
        <Pairs prefix="header" rows={CUSTOM_HEADER_ROWS} label="Header" values={v} />
      </fieldset>

      <fieldset>
        <legend>Options</legend>
        <div class="grid">
          <Field id="timeoutSeconds" label="Timeout (seconds)">
            <input
              id="timeoutSeconds"
              name="timeoutSeconds"
              type="number"
              min="1"
              max="60"
              value={text(v, 'timeoutSeconds')}
            />
          </Field>
          <Field id="maxConcurrency" label="Maximum concurrency">
            <input
              id="maxConcurrency"
              name="maxConcurrency"
              type="number"
              min="1"
              max="1000"
              value={text(v, 'maxConcurrency')}
            />
          </Field>
          <Field id="rateLimit" label="Rate limit (requests per second)" hint="empty: none">
            <input
              id="rateLimit"
              name="rateLimit"
              type="number"
              min="0.001"
              step="any"
              value={text(v, 'rateLimit')}
            />
          </Field>
          <Field id="ordering" label="Ordering">
            <select id="ordering" name="ordering">
              {option('none', 'In parallel', text(v, 'ordering'))}
              {option('package', 'One at a time per package', text(v, 'ordering'))}
            </select>
          </Field>
        </div>
        <Field
          id="retrySchedule"
          label="Retry schedule"
          hint="e.g. 5s, 5m, 30m; empty: the server's"
        >
          <input
            id="retrySchedule"
            name="retrySchedule"
            type="text"
            value={text(v, 'retrySchedule')}
          />
        </Field>
        <div class="checks">
          <label>
            <input type="checkbox" name="signing" checked={text(v, 'signing') === 'on'} /> Sign
            deliveries (Standard Webhooks <code>webhook-signature</code>)
          </label>
        </div>
      </fieldset>
      <div>
        <button type="submit">{props.submit}</button>
      </div>
    </form>
  );
}
