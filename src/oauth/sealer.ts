// What the token manager's parts (token-cache.ts, token-refresh.ts) need to keep tokens sealed
// at rest: services/secret-box.ts's SecretBox, seen from below (oauth/ sits under services/, so
// it names the two calls it makes rather than importing the class).

export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}
