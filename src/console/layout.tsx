// The page around every console page: head with the fingerprinted assets, the navigation
// ("Overview", "Endpoints", "Deliveries", "Events", and "Accounts" for operators), who is signed
// in (an operator picks the account to act for), the one-time message, then the page itself.
// hono/jsx escapes every interpolated value.

import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { AccountRecord } from '../store/port.js';
import type { Assets } from './assets.js';
import type { Flash, Session } from './session.js';

export type Section = 'overview' | 'endpoints' | 'deliveries' | 'events' | 'accounts';

const NAV: ReadonlyArray<{ section: Section; label: string; href: string; operator?: true }> = [
  { section: 'overview', label: 'Overview', href: '/console/' },
  { section: 'endpoints', label: 'Endpoints', href: '/console/endpoints' },
  { section: 'deliveries', label: 'Deliveries', href: '/console/deliveries' },
  { section: 'events', label: 'Events', href: '/console/events' },
  { section: 'accounts', label: 'Accounts', href: '/console/accounts', operator: true },
];

/** htmx without eval or injected styles (the CSP allows neither); CSRF header set per page. */
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  historyCacheSize: 0,
  selfRequestsOnly: true,
});

export interface Chrome {
  readonly assets: Assets;
  readonly session: Session | null;
  /** The accounts an operator can pick from; the signed-in account alone otherwise. */
  readonly accounts: readonly AccountRecord[];
  readonly flash: Flash | undefined;
}

export function Document(props: {
  title: string;
  assets: Assets;
  csrf?: string | undefined;
  /** More for the head, such as a meta refresh. */
  head?: Child;
  children: Child;
}) {
  const { assets } = props;
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title>{props.title} · Herald console</title>
          <link rel="stylesheet" href={assets.url('uPlot.min.css')} />
          <link rel="stylesheet" href={assets.url('console.css')} />
          <script src={assets.url('htmx.min.js')} defer></script>
          <script src={assets.url('uPlot.iife.min.js')} defer></script>
          <script src={assets.url('console.js')} defer></script>
          {props.head}
        </head>
        <body hx-headers={props.csrf ? JSON.stringify({ 'x-csrf-token': props.csrf }) : undefined}>
          {props.children}
        </body>
      </html>
    </>
  );
}

export function Page(props: {
  title: string;
  section: Section | null;
  chrome: Chrome;
  children: Child;
}) {
  const { chrome } = props;
  const session = chrome.session;
  const operator = session?.principal === 'admin';
  const current = chrome.accounts.find((a) => a.id === session?.accountId);
  return (
    <Document title={props.title} assets={chrome.assets} csrf={session?.csrf}>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/console/">
          Herald
        </a>
        {session ? (
          <nav aria-label="Main">
            <ul>
              {NAV.filter((n) => !n.operator || operator).map((n) => (
                <li>
                  <a href={n.href} aria-current={n.section === props.section ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {session ? (
          <div class="who">
            {operator ? (
              <form method="post" action="/console/account">
                <input type="hidden" name="_csrf" value={session.csrf} />
                <label for="acting-account">Operator, acting for</label>
                <select id="acting-account" name="accountId">
                  <option value="" selected={session.accountId === null}>
                    all accounts
                  </option>
                  {chrome.accounts.map((a) => (
                    <option value={a.id} selected={a.id === session.accountId}>
                      {a.name}
                    </option>
                  ))}
                </select>
                <button type="submit" class="secondary">
                  Switch
                </button>
              </form>
            ) : (
              <span>Account: {current?.name ?? session.accountId}</span>
            )}
            <form method="post" action="/console/sign-out">
              <input type="hidden" name="_csrf" value={session.csrf} />
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          </div>
        ) : null}
      </header>
      <main id="content">
        {chrome.flash ? (
          <p
            class={`notice ${chrome.flash.kind}`}
            role={chrome.flash.kind === 'error' ? 'alert' : 'status'}
          >
            {chrome.flash.text}
          </p>
        ) : null}
        {props.children}
      </main>
    </Document>
  );
}

/** Hidden CSRF field for a form of the signed-in session. */
export function Csrf(props: { session: Session }) {
  return <input type="hidden" name="_csrf" value={props.session.csrf} />;
}

/** A page that only says what went wrong, and where to go from here. */
export function MessagePage(props: {
  assets: Assets;
  title: string;
  text: string;
  back: { readonly href: string; readonly label: string };
}) {
  return (
    <Document title={props.title} assets={props.assets}>
      <main id="content">
        <h1>{props.title}</h1>
        <p class="notice error" role="alert">
          {props.text}
        </p>
        <p>
          <a href={props.back.href}>{props.back.label}</a>
        </p>
      </main>
    </Document>
  );
}
