// OneSpan-compatible event names: the list Herald's server validates against and the types a
// listener reads. Unknown names in the same shape are delivered too (platforms add events before
// clients upgrade), so code should treat this list as the names it knows, not as all there are.

export const KNOWN_EVENT_NAMES = [
  'PACKAGE_CREATE',
  'PACKAGE_ACTIVATE',
  'PACKAGE_DEACTIVATE',
  'PACKAGE_READY_FOR_COMPLETE',
  'PACKAGE_COMPLETE',
  'PACKAGE_DECLINE',
  'PACKAGE_OPT_OUT',
  'PACKAGE_EXPIRE',
  'PACKAGE_ARCHIVE',
  'PACKAGE_TRASH',
  'PACKAGE_RESTORE',
  'PACKAGE_DELETE',
  'PACKAGE_ATTACHMENT',
  'DOCUMENT_SIGNED',
  'DOCUMENT_VIEWED',
  'SIGNER_COMPLETE',
  'SIGNER_LOCKED',
  'ROLE_REASSIGN',
  'KBA_FAILURE',
  'EMAIL_BOUNCE',
  'TEMPLATE_CREATE',
  'COBROWSE_REQUEST',
] as const;
export type KnownEventName = (typeof KNOWN_EVENT_NAMES)[number];

export function isKnownEventName(name: string): name is KnownEventName {
  return (KNOWN_EVENT_NAMES as readonly string[]).includes(name);
}
