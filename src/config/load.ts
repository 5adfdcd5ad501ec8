// Resolves the configuration once: defaults, then environment (HERALD_*), then flags.

import { ConfigError } from '../errors.js';
import {
  REMOVED_SETTINGS,
  SETTINGS,
  tracingConfigFrom,
  type Config,
  type Setting,
} from './settings.js';

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

function apply(setting: Setting, raw: string, source: string): Config[keyof Config] {
  const parsed = setting.parse(raw);
  if (parsed !== null && typeof parsed === 'object' && 'error' in parsed) {
    throw new ConfigError(`${source} ${parsed.error}`);
  }
  return parsed as Config[keyof Config];
}

export function loadConfig(env: NodeJS.ProcessEnv, flags: Flags = {}): Config {
  const values: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    let value: unknown = setting.default;
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined) value = apply(setting, fromEnv, setting.env);
    const fromFlag = setting.flag === undefined ? undefined : flags[setting.flag];
    if (fromFlag !== undefined) {
      value = apply(
        setting,
        typeof fromFlag === 'boolean' ? String(fromFlag) : fromFlag,
        `--${setting.flag}`,
      );
    }
    values[setting.key] = value;
  }
  try {
    values.tracing = tracingConfigFrom(env);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return Object.freeze(values) as unknown as Config;
}

/** The URL users reach this server under. */
export function publicUrlOf(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/** What to say about settings in `env` that Herald no longer has (they would do nothing). */
export function removedSettingsIn(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(REMOVED_SETTINGS)
    .filter(([name]) => env[name] !== undefined && env[name] !== '')
    .map(([, message]) => message);
}
