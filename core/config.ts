import { homedir } from 'node:os';
import path from 'node:path';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../shared/providers.js';

/** The port LLMeter listens on unless told otherwise (README: "Configuration"). */
export const DEFAULT_PORT = 9742;
export const DEFAULT_HOST = '127.0.0.1';
/** Folder name under the OS app-data folder; the Electron app uses the same one. */
export const APP_FOLDER = 'LLMeter';

/** Settings every mode shares, after environment and command-line overrides. */
export interface CoreConfig {
  dataDir: string;
  host: string;
  port: number;
  allowedHosts: string[];
  baseUrls: Record<ProviderId, string>;
}

/** Thrown for a configuration value that cannot work; the message names the variable. */
export class ConfigError extends Error {}

/**
 * The OS app-data folder, the same one Electron's `app.getPath('userData')` gives the desktop app,
 * so headless and desktop modes share one database.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_FOLDER);
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_FOLDER);
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), APP_FOLDER);
}

/** Parses a TCP port (0 = any free port, for tests). */
export function parsePort(value: string | number, name: string): number {
  const port = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${name}=${value} is not a TCP port (0–65535)`);
  return port;
}

function parseBaseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}=${value} is not a URL; give an origin such as https://api.openai.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL`);
  return url.toString().replace(/\/+$/, '');
}

/** Resolves the configuration from the environment and explicit overrides (command-line flags win). */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, overrides: { host?: string; port?: string | number; dataDir?: string } = {}): CoreConfig {
  const baseUrls = {} as Record<ProviderId, string>;
  for (const id of PROVIDER_IDS) {
    const info = PROVIDERS[id];
    baseUrls[id] = parseBaseUrl(env[info.baseUrlEnv] || info.defaultBaseUrl, info.baseUrlEnv);
  }
  const portSource = overrides.port ?? env.LLMETER_PORT;
  return {
    dataDir: path.resolve(overrides.dataDir ?? (env.LLMETER_DATA_DIR || defaultDataDir(env))),
    host: overrides.host ?? (env.LLMETER_HOST || DEFAULT_HOST),
    port: portSource === undefined || portSource === '' ? DEFAULT_PORT : parsePort(portSource, overrides.port !== undefined ? '--port' : 'LLMETER_PORT'),
    allowedHosts: (env.LLMETER_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    baseUrls,
  };
}
