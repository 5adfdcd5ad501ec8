// The master key that seals every stored secret, checked against the store it opens.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import { SecretBox, generateMasterKey } from '../services/secret-box.js';
import type { Store } from '../store/port.js';
import { writePrivate } from './data-dir.js';

const MASTER_KEY_CHECK = 'master_key_check';
const MASTER_KEY_CHECK_TEXT = 'herald master key check';

/** The master key: HERALD_MASTER_KEY, or (embedded store only) a key file made on first start. */
export async function openSecretBox(config: Config, store: Store): Promise<SecretBox> {
  let text = config.masterKey;
  if (!text) {
    if (store.capabilities.concurrentWorkers) {
      throw new ConfigError(
        'HERALD_MASTER_KEY is required with a shared store: every process must use the same key',
      );
    }
    const file = join(config.dataDir, 'master.key');
    if (!existsSync(file)) writePrivate(file, `${generateMasterKey()}\n`);
    text = readFileSync(file, 'utf8').trim();
  }
  const box = SecretBox.fromText(text);
  const check = await store.initSetting(MASTER_KEY_CHECK, box.seal(MASTER_KEY_CHECK_TEXT));
  try {
    if (box.open(check) !== MASTER_KEY_CHECK_TEXT) throw new Error('mismatch');
  } catch {
    throw new ConfigError(
      'The master key does not match the one this store was created with: set HERALD_MASTER_KEY (or restore master.key) to the original key',
    );
  }
  return box;
}
