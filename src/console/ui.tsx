// Small pieces the pages share: times, durations, status badges, facts, pagers.

import type { Child } from 'hono/jsx';
import { utcField } from './forms.js';

/** A time as UTC text inside <time>, or a dash. */
export function Time(props: { at: string | number | null | undefined }) {
  if (props.at === null || props.at === undefined) return <span>—</span>;
  const iso = typeof props.at === 'number' ? new Date(props.at).toISOString() : props.at;
  return <time datetime={iso}>{iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')}</time>;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3600_000).toFixed(1)} h`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

type Tone = 'ok' | 'warn' | 'bad' | 'muted';

const TONES: Record<string, Tone> = {
  succeeded: 'ok',
  ok: 'ok',
  enabled: 'ok',
  pending: 'muted',
  delivering: 'muted',
  unverified: 'warn',
  held: 'warn',
  retried: 'warn',
  failing: 'warn',
  failed: 'bad',
  disabled: 'bad',
  reauthorization_required: 'bad',
  revoked: 'muted',
};

const WORDS: Record<string, string> = {
  reauthorization_required: 'needs reauthorization',
};

/** A word with a colour that repeats its meaning (the text carries it alone too). */
export function Badge(props: { value: string; tone?: Tone }) {
  const tone = props.tone ?? TONES[props.value] ?? 'muted';
  return <span class={`badge ${tone}`}>{WORDS[props.value] ?? props.value}</span>;
}

export function Facts(props: { items: ReadonlyArray<readonly [string, Child]> }) {
  return (
    <dl class="facts">
      {props.items.map(([term, value]) => (
        <>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** "Newer" / "Older" links for cursor pages; `next` is the cursor of the following page. */
export function Pager(props: { base: string; query: URLSearchParams; next: string | null }) {
  const first = props.query.has('cursor');
  const older = new URLSearchParams(props.query);
  if (props.next) older.set('cursor', props.next);
  const newest = new URLSearchParams(props.query);
  newest.delete('cursor');
  if (!first && !props.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      {first ? <a href={`${props.base}?${newest.toString()}`}>Newest</a> : null}
      {props.next ? <a href={`${props.base}?${older.toString()}`}>Older</a> : null}
    </nav>
  );
}

/** One labelled field: the label names the control by its id. */
export function Field(props: { id: string; label: string; hint?: string; children: Child }) {
  return (
    <div class="field">
      <label for={props.id}>
        {props.label}
        {props.hint ? <span class="hint"> — {props.hint}</span> : null}
      </label>
      {props.children}
    </div>
  );
}

/** A table that scrolls sideways on narrow screens; `head` names its columns. */
export function Table(props: {
  head: ReadonlyArray<string | { readonly label: Child; readonly num?: boolean }>;
  children: Child;
}) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {props.head.map((h) =>
              typeof h === 'string' ? (
                <th scope="col">{h}</th>
              ) : (
                <th scope="col" class={h.num ? 'num' : undefined}>
                  {h.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** From / Until fields in UTC, named `since` and `until`. */
export function TimeRange(props: {
  prefix: string;
  since: number | undefined;
  until: number | undefined;
  required?: boolean;
}) {
  return (
    <>
      <Field id={`${props.prefix}-since`} label="From (UTC)">
        <input
          id={`${props.prefix}-since`}
          name="since"
          type="datetime-local"
          required={props.required}
          value={utcField(props.since)}
        />
      </Field>
      <Field
        id={`${props.prefix}-until`}
        label="Until (UTC)"
        hint={props.required ? 'empty: now' : undefined}
      >
        <input
          id={`${props.prefix}-until`}
          name="until"
          type="datetime-local"
          value={utcField(props.until)}
        />
      </Field>
    </>
  );
}

/** A GET form of filters, announced as a search. */
export function SearchForm(props: {
  action: string;
  label: string;
  submit: string;
  /** Why the filters could not be used, shown under the form. */
  problem: string | undefined;
  children: Child;
}) {
  return (
    <>
      <form
        method="get"
        action={props.action}
        class="inline"
        role="search"
        aria-label={props.label}
      >
        {props.children}
        <button type="submit">{props.submit}</button>
      </form>
      {props.problem ? (
        <p class="notice error" role="alert">
          {props.problem}
        </p>
      ) : null}
    </>
  );
}
