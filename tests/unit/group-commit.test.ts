// Group commit (every store's ingest): which batches share a commit, in what order the groups
// commit, and who hears about a failure.

import { setImmediate as nextTask } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { AccountId } from '../../src/domain/ids.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import type { IngestBatch, IngestOutcome } from '../../src/store/port.js';

const batch = (name: string): IngestBatch => ({
  accountId: 'acc_test' as AccountId,
  idempotency: null,
  events: [],
  response: name,
});

/** Commits answer each batch with its own name, and only when released. */
function harness(options: { refuse?: string } = {}) {
  const commits: string[][] = [];
  const release: Array<(error?: Error) => void> = [];
  const group = new GroupCommit<string[]>({
    create: () => [],
    add: (names, batches) => {
      for (const b of batches) {
        if (b.response === options.refuse) throw new Error(`cannot add ${b.response}`);
      }
      names.push(...batches.map((b) => b.response));
    },
    commit: (names) => {
      commits.push(names);
      return new Promise<IngestOutcome[]>((resolve, reject) => {
        release.push((error) =>
          error
            ? reject(error)
            : resolve(names.map((response) => ({ kind: 'replayed', response }))),
        );
      });
    },
  });
  const names = (outcomes: IngestOutcome[]) =>
    outcomes.map((o) => (o.kind === 'replayed' ? o.response : o.kind));
  return { group, commits, release, names };
}

/** Group '1' committing (not yet released) and group '2' waiting behind it. */
async function oneCommittingOneWaiting() {
  const h = harness();
  const first = h.group.submit([batch('1')]);
  await nextTask();
  const second = h.group.submit([batch('2')]);
  return { ...h, first, second };
}

describe('GroupCommit', () => {
  it('commits the batches of one turn together and answers each call with its own outcomes', async () => {
    const { group, commits, release, names } = harness();
    const a = group.submit([batch('a1'), batch('a2')]);
    const b = group.submit([batch('b')]);
    expect(commits).toEqual([]); // the rest of the turn may still join
    await nextTask();
    expect(commits).toEqual([['a1', 'a2', 'b']]);
    release[0]!();
    expect(names(await a)).toEqual(['a1', 'a2']);
    expect(names(await b)).toEqual(['b']);
  });

  it('collects what arrives during a commit into the next one, one commit at a time', async () => {
    const { group, commits, release, names, first, second } = await oneCommittingOneWaiting();
    const third = group.submit([batch('3')]);
    await nextTask();
    expect(commits).toEqual([['1']]);
    release[0]!();
    expect(names(await first)).toEqual(['1']);
    await nextTask();
    expect(commits).toEqual([['1'], ['2', '3']]);
    release[1]!();
    expect(names(await second)).toEqual(['2']);
    expect(names(await third)).toEqual(['3']);
  });

  it('fails only the call whose batches cannot be added', async () => {
    const { group, commits, release, names } = harness({ refuse: 'bad' });
    const good = group.submit([batch('good')]);
    await expect(group.submit([batch('bad')])).rejects.toThrow('cannot add bad');
    const after = group.submit([batch('after')]);
    await nextTask();
    expect(commits).toEqual([['good', 'after']]);
    release[0]!();
    expect(names(await good)).toEqual(['good']);
    expect(names(await after)).toEqual(['after']);
  });

  it('fails every call of a group whose commit fails, and goes on with the next group', async () => {
    const { group, release, names } = harness();
    const a = group.submit([batch('a')]);
    const b = group.submit([batch('b')]);
    await nextTask();
    const c = group.submit([batch('c')]);
    release[0]!(new Error('disk full'));
    await expect(a).rejects.toThrow('disk full');
    await expect(b).rejects.toThrow('disk full');
    await nextTask();
    release[1]!();
    expect(names(await c)).toEqual(['c']);
  });

  it('rejects the group when the commit throws instead of returning a promise', async () => {
    const group = new GroupCommit<string[]>({
      create: () => [],
      add: () => undefined,
      commit: () => {
        throw new Error('thread gone');
      },
    });
    await expect(group.submit([batch('a')])).rejects.toThrow('thread gone');
  });

  it('commits the waiting group at once on flush, even while another commits', async () => {
    const { group, commits, release, names, first, second } = await oneCommittingOneWaiting();
    group.flush();
    expect(commits).toEqual([['1'], ['2']]);
    release[1]!();
    release[0]!();
    expect(names(await second)).toEqual(['2']);
    expect(names(await first)).toEqual(['1']);
  });

  it('closes: commits what waits, after the group committing, and takes no more', async () => {
    const { group, commits, release, names, first, second } = await oneCommittingOneWaiting();
    let closed = false;
    const closing = group.close().then(() => (closed = true));
    // One group commits at a time, closing or not.
    expect(commits).toEqual([['1']]);
    await expect(group.submit([batch('late')])).rejects.toThrow('The store is closed');
    release[0]!();
    expect(names(await first)).toEqual(['1']);
    await nextTask();
    expect(commits).toEqual([['1'], ['2']]);
    expect(closed).toBe(false);
    release[1]!();
    expect(names(await second)).toEqual(['2']);
    await closing;
    expect(closed).toBe(true);
    await group.close(); // again: nothing to wait for
  });

  it('rejects the group not yet committed when abandoned', async () => {
    const { group, commits } = harness();
    const waiting = group.submit([batch('a')]);
    group.abandon(new Error('The store is closed'));
    await expect(waiting).rejects.toThrow('The store is closed');
    await nextTask();
    expect(commits).toEqual([]);
  });
});
