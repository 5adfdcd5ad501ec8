// The store port, in parts under store/ports/ (one file per part); this file re-exports them
// all, so `store/port.js` stays the one name business code imports.

export * from './ports/index.js';
