// `herald endpoints list|show|create|update|enable|disable|delete`.

import { readFileSync } from 'node:fs';
import type {
  EndpointJson,
  EndpointWithSecretJson,
  Presented,
} from '../../services/representations.js';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS, clientHelp } from '../api-client.js';
import { parse, UsageError, type Command, type Io } from '../command.js';
import { printPage } from '../listing.js';
import { details, outputOf, paint, stateStyle, table, when, type Output } from '../format.js';

type Endpoint = Presented<typeof EndpointJson>;
type EndpointWithSecret = Presented<typeof EndpointWithSecretJson>;

const path = (id: string) => `/v1/endpoints/${encodeURIComponent(id)}`;

function endpointId(positionals: string[]): string {
  const id = positionals[0];
  if (!id) throw new UsageError('Give the endpoint id (ep_...)');
  if (positionals.length > 1) throw new UsageError(`One endpoint id, not ${positionals.length}`);
  return id;
}

export const endpointsList: Command = {
  name: 'endpoints list',
  summary: "List the account's endpoints with their state and auth health",
  help: `Usage: herald endpoints list [--json]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, CLIENT_OPTIONS);
    return printPage<Endpoint>(io, values, '/v1/endpoints', (rows, output) =>
      table(
        rows,
        [
          { label: 'ID', value: (e) => e.id },
          { label: 'State', value: (e) => e.state, style: stateStyle },
          { label: 'Auth', value: (e) => e.auth.type },
          { label: 'Health', value: (e) => e.auth.status, style: stateStyle },
          { label: 'Events', value: (e) => e.events.join(',') || 'none', shrinkTo: 10 },
          { label: 'URL', value: (e) => e.url, shrinkTo: 20 },
        ],
        output,
      ),
    );
  },
};

/** One endpoint in words: what a person checks first on top, options and times below. */
export function describeEndpoint(e: Endpoint, output: Output): string {
  const auth = e.auth;
  const credential =
    auth.type === 'BASIC'
      ? `, key ${auth.key ?? '-'}`
      : auth.type === 'OAUTH2'
        ? `, ${auth.grantType} at ${auth.tokenUrl}, client ${auth.clientId}` +
          (auth.scope ? `, scope "${auth.scope}"` : '') +
          (auth.refreshToken ? `, refresh token ${auth.refreshToken}` : '') +
          (auth.clientSecret ? `, client secret ${auth.clientSecret}` : '')
        : '';
  const o = e.options;
  return details(
    `Endpoint ${e.id}`,
    [
      ['URL', e.url],
      [
        'State',
        paint(e.state, stateStyle(e.state), output) +
          (e.disabledReason ? ` (${e.disabledReason})` : ''),
      ],
      ['Events', e.events.join(', ') || 'none'],
      ['Auth', `${auth.type} ${paint(auth.status, stateStyle(auth.status), output)}${credential}`],
      [
        'Signing',
        e.signing.enabled
          ? `on (${e.signing.secrets} secret${e.signing.secrets === 1 ? '' : 's'})`
          : 'off',
      ],
      ['Headers', e.customHeaders.map((h) => `${h.key}: ${h.value}`).join('\n')],
      ['Description', e.description],
      [
        'Options',
        `timeout ${o.timeoutMs} ms, at most ${o.maxConcurrency} at once, ` +
          `${o.rateLimit === null ? 'no rate limit' : `${o.rateLimit}/s`}, ordering ${o.ordering}\n` +
          `retries ${o.retrySchedule ? o.retrySchedule.join(' ') : "on the server's schedule"}`,
      ],
      [
        'Origin',
        e.origin === null
          ? null
          : `OneSpan ${e.origin === 'default' ? '/api/callback' : `connector ${e.origin}`}`,
      ],
      ['Failing since', when(e.failingSince, output.now)],
      ['Created', when(e.createdAt, output.now)],
      ['Updated', when(e.updatedAt, output.now)],
    ],
    output,
  );
}

export const endpointsShow: Command = {
  name: 'endpoints show',
  summary: 'Show one endpoint',
  help: `Usage: herald endpoints show ENDPOINT_ID [--json]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
    const endpoint = (await apiClient(values, io).request(
      'GET',
      path(endpointId(positionals)),
    )) as Endpoint;
    io.out(values.json ? JSON.stringify(endpoint) : describeEndpoint(endpoint, outputOf(io)));
    return 0;
  },
};

/** Create and update: --url is the callback URL there, so Herald's own address is --server-url. */
const WRITE_OPTIONS = {
  ...CLIENT_OPTIONS,
  'server-url': { type: 'string' },
  url: { type: 'string' },
  events: { type: 'string', multiple: true },
  key: { type: 'string' },
  'auth-file': { type: 'string' },
  description: { type: 'string' },
  header: { type: 'string', multiple: true },
} as const;

const WRITE_HELP = `  --events A,B         event names (comma-separated or repeated); "*" for every event
  --key KEY            a Basic callback key: Herald sends Authorization: Basic KEY
  --auth-file FILE     the auth object as JSON ("-" reads stdin), e.g.
                       {"type":"OAUTH2","grantType":"CLIENT_CREDENTIALS","tokenUrl":"https://...",
                        "clientId":"...","clientSecret":"..."} or {"type":"OAUTH2","salesforceKey":"..."}
  --description TEXT   a note for people
  --header NAME=VALUE  a custom header sent with every callback (repeatable, at most 5)`;

/** The endpoint fields the create and update flags give. */
function endpointFields(values: {
  url?: string | undefined;
  events?: string[] | undefined;
  key?: string | undefined;
  'auth-file'?: string | undefined;
  description?: string | undefined;
  header?: string[] | undefined;
}): Record<string, unknown> {
  if (values.key !== undefined && values['auth-file'] !== undefined) {
    throw new UsageError('Give --key or --auth-file, not both');
  }
  const fields: Record<string, unknown> = {};
  if (values.url !== undefined) fields.url = values.url;
  if (values.events !== undefined) {
    fields.events = values.events
      .flatMap((e) => e.split(','))
      .map((e) => e.trim())
      .filter((e) => e !== '');
  }
  if (values.key !== undefined) fields.auth = { type: 'BASIC', key: values.key };
  if (values['auth-file'] !== undefined) fields.auth = authFile(values['auth-file']);
  if (values.description !== undefined) fields.description = values.description;
  if (values.header !== undefined) {
    fields.customHeaders = values.header.map((h) => {
      const at = h.indexOf('=');
      if (at <= 0) throw new UsageError(`--header ${JSON.stringify(h)} is not NAME=VALUE`);
      return { key: h.slice(0, at), value: h.slice(at + 1) };
    });
  }
  return fields;
}

function authFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `Cannot read --auth-file ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
    );
  }
  try {
    const auth = JSON.parse(text) as unknown;
    if (typeof auth !== 'object' || auth === null || Array.isArray(auth))
      throw new Error('not an object');
    return auth;
  } catch {
    // Not quoted: the file holds secrets.
    throw new UsageError(`--auth-file ${file} is not a JSON object (see --help for its shape)`);
  }
}

/** The signing secret an answer shows once, told on stderr so stdout stays the id. */
function tellSigningSecret(endpoint: EndpointWithSecret, io: Io): void {
  if (endpoint.signingSecret) {
    io.err(
      `Signing secret of ${endpoint.id} (shown once; your listener verifies webhook-signature with it):`,
    );
    io.err(`  ${endpoint.signingSecret}`);
  }
}

export const endpointsCreate: Command = {
  name: 'endpoints create',
  summary: 'Create an endpoint; prints its id',
  help: `Usage: herald endpoints create --url URL --events A,B [--key KEY | --auth-file FILE] [options]

Prints the new endpoint's id on stdout (ID=$(herald endpoints create ...)) and its signing secret,
shown this once, on stderr. With --json, prints the API's answer (id and signingSecret included).

  --url URL            where Herald POSTs the callbacks (https://...)
${WRITE_HELP}
  --unsigned           no Standard Webhooks signing secret

${clientHelp('--server-url')}`,
  async run(args, io) {
    const { values } = parse(args, { ...WRITE_OPTIONS, unsigned: { type: 'boolean' } });
    const fields = endpointFields(values);
    if (!fields.url)
      throw new UsageError('--url is required (the listener that receives callbacks)');
    if (!fields.events) throw new UsageError('--events is required (event names, or "*")');
    const created = (await apiClient({ ...values, url: values['server-url'] }, io).request(
      'POST',
      '/v1/endpoints',
      { ...fields, ...(values.unsigned ? { signing: false } : {}) },
    )) as EndpointWithSecret;
    if (values.json) {
      io.out(JSON.stringify(created));
      return 0;
    }
    io.out(created.id);
    tellSigningSecret(created, io);
    return 0;
  },
};

export const endpointsUpdate: Command = {
  name: 'endpoints update',
  summary: "Change an endpoint's URL, events, auth, headers or signing",
  help: `Usage: herald endpoints update ENDPOINT_ID [--url URL] [--events A,B] [--key KEY | --auth-file FILE] [options]

Changes what is given and keeps the rest. Turning signing on prints the new secret (once) on stderr.

  --url URL            the new callback URL
${WRITE_HELP}
  --signing on|off     add a signing secret, or remove every one

${clientHelp('--server-url')}`,
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...WRITE_OPTIONS, signing: { type: 'string' } },
      true,
    );
    const id = endpointId(positionals);
    const fields = endpointFields(values);
    if (values.signing !== undefined) {
      if (values.signing !== 'on' && values.signing !== 'off')
        throw new UsageError('--signing is on or off');
      fields.signing = values.signing === 'on';
    }
    if (Object.keys(fields).length === 0) {
      throw new UsageError(
        'Nothing to change: give --url, --events, --key, --auth-file, --description, --header or --signing',
      );
    }
    const updated = (await apiClient({ ...values, url: values['server-url'] }, io).request(
      'PATCH',
      path(id),
      fields,
    )) as EndpointWithSecret;
    if (values.json) {
      io.out(JSON.stringify(updated));
      return 0;
    }
    io.out(describeEndpoint(updated, outputOf(io)));
    tellSigningSecret(updated, io);
    return 0;
  },
};

function setState(state: 'enabled' | 'disabled'): Command {
  const verb = state === 'enabled' ? 'enable' : 'disable';
  return {
    name: `endpoints ${verb}`,
    summary:
      state === 'enabled'
        ? 'Enable an endpoint: its held deliveries are sent again'
        : 'Disable an endpoint: new deliveries are held until it is enabled',
    help: `Usage: herald endpoints ${verb} ENDPOINT_ID [--json]\n\n${CLIENT_HELP}`,
    async run(args, io) {
      const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
      const id = endpointId(positionals);
      const endpoint = (await apiClient(values, io).request('PATCH', path(id), {
        state,
      })) as Endpoint;
      const output = outputOf(io);
      io.out(
        values.json
          ? JSON.stringify(endpoint)
          : `${endpoint.id} is ${paint(endpoint.state, stateStyle(endpoint.state), output)}` +
              (state === 'enabled' ? '; held deliveries go out now' : '; new deliveries are held'),
      );
      return 0;
    },
  };
}

export const endpointsEnable = setState('enabled');
export const endpointsDisable = setState('disabled');

export const endpointsDelete: Command = {
  name: 'endpoints delete',
  summary: 'Delete an endpoint with its deliveries',
  help: `Usage: herald endpoints delete ENDPOINT_ID [--json]

Deletes the endpoint, its deliveries and their attempt logs. Events stay (other endpoints may have
them). To stop deliveries but keep them, use herald endpoints disable.

${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
    const id = endpointId(positionals);
    await apiClient(values, io).request('DELETE', path(id));
    io.out(values.json ? JSON.stringify({ id, deleted: true }) : `${id} deleted`);
    return 0;
  },
};
