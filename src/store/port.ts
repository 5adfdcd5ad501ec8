// The store port: the only contract between Herald's business code and persistence, in parts
// under store/ports/ (one file per part); this file re-exports them all, so `store/port.js` stays
// the one name business code imports. Adapters (store/sqlite, store/postgres) own SQL, migrations
// and locking, and declare what they can do through `capabilities`; business code branches on
// capabilities, never on the adapter. Secrets cross this boundary only as ciphertext
// (services/secret-box.ts seals them).

export * from './ports/index.js';
