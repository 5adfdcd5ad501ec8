// A realistic stream of e-signature events for the demo: transactions created, sent, viewed,
// signed by each signer, completed; one declined; one email bounced.

import { randomBytes, randomUUID } from 'node:crypto';

export interface StoryEvent {
  readonly name: string;
  readonly packageId: string;
  readonly sessionUser: string;
  readonly documentId?: string;
  readonly message?: string;
}

const packageId = () => `${randomBytes(20).toString('base64url').slice(0, 27)}=`;

/** `count` transactions; the third is declined and the fifth has a bounced email. */
export function transactions(count: number): StoryEvent[][] {
  const stories: StoryEvent[][] = [];
  for (let t = 0; t < count; t++) {
    const pkg = packageId();
    const sender = randomUUID();
    const signers = [randomUUID(), randomUUID()];
    const documents = ['contract', 'disclosure'];
    const story: StoryEvent[] = [
      { name: 'PACKAGE_CREATE', packageId: pkg, sessionUser: sender },
      { name: 'PACKAGE_ACTIVATE', packageId: pkg, sessionUser: sender },
    ];
    if (t % 5 === 4)
      story.push({
        name: 'EMAIL_BOUNCE',
        packageId: pkg,
        sessionUser: signers[1]!,
        message: 'BOUNCE',
      });
    if (t % 5 === 2) {
      story.push(
        {
          name: 'DOCUMENT_VIEWED',
          packageId: pkg,
          sessionUser: signers[0]!,
          documentId: documents[0]!,
        },
        {
          name: 'PACKAGE_DECLINE',
          packageId: pkg,
          sessionUser: signers[0]!,
          message: 'The amount in section 4 is wrong',
        },
      );
      stories.push(story);
      continue;
    }
    for (const signer of signers) {
      for (const documentId of documents) {
        story.push({ name: 'DOCUMENT_VIEWED', packageId: pkg, sessionUser: signer, documentId });
        story.push({ name: 'DOCUMENT_SIGNED', packageId: pkg, sessionUser: signer, documentId });
      }
      story.push({ name: 'SIGNER_COMPLETE', packageId: pkg, sessionUser: signer });
    }
    story.push({ name: 'PACKAGE_COMPLETE', packageId: pkg, sessionUser: signers[1]! });
    stories.push(story);
  }
  return stories;
}

/** Interleaves the transactions as they would happen in parallel, keeping each one's order. */
export function interleave(stories: StoryEvent[][]): StoryEvent[] {
  const out: StoryEvent[] = [];
  const cursors = stories.map(() => 0);
  for (let progressed = true; progressed;) {
    progressed = false;
    stories.forEach((story, i) => {
      const event = story[cursors[i]!];
      if (event) {
        out.push(event);
        cursors[i]!++;
        progressed = true;
      }
    });
  }
  return out;
}
