/**
 * The settings of one data folder (`settings.json`), behind one interface that the CLI, the HTTP
 * UI API and the desktop app share. Headless mode stores them with `conf`; the desktop app passes
 * a factory that builds an `electron-store` (conf underneath) with the same options, migrations
 * and validation. A corrupt or invalid file never stops the app: it is kept aside, the defaults
 * (or the valid part of it) are used, and a warning says what happened.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Conf, { type Options } from 'conf';
import { SETTINGS_VERSION, settingsSchema, type Settings } from '../../shared/settings.js';
import type { Logger } from '../log.js';
import { confMigrations, SETTINGS_MIGRATIONS, settingsVersionTag, withoutBookkeeping, type RawSettings, type SettingsMigration } from './migrations.js';

/** File name (without extension) of the settings inside the data folder. */
export const SETTINGS_FILE_NAME = 'settings';

/** A change to some settings; nested groups (alerts, ui, …) are merged, not replaced. */
export type SettingsPatch = { [K in keyof Settings]?: Settings[K] extends unknown[] ? Settings[K] : Settings[K] extends object ? Partial<Settings[K]> : Settings[K] };

/** The settings of the app, validated by the one schema in shared/settings.ts. */
export interface SettingsStore {
  /** The current settings, every field filled (a copy: changing it changes nothing). */
  get(): Settings;
  /** Validates and saves a change; throws InvalidSettingsError (nothing saved) when a value is not allowed. */
  update(patch: SettingsPatch): Settings;
  /** Calls `listener` after every saved change; returns a function that stops it. */
  onChange(listener: (settings: Settings) => void): () => void;
}

/** A settings change that the schema refuses; the message names each field and what is allowed. */
export class InvalidSettingsError extends Error {}

/** What a settings file lives in: a conf instance, or an electron-store (which extends conf). */
export interface SettingsBacking {
  store: RawSettings;
  readonly path: string;
}

/** conf's options for the settings file, plus `name`, which electron-store reads instead of `configName`. */
export type SettingsFileOptions = Partial<Options<RawSettings>> & { name: string };

/** Builds the backing store from the options; headless mode uses conf, the desktop app electron-store. */
export type SettingsBackingFactory = (options: SettingsFileOptions) => SettingsBacking;

/** Overrides for tests of future versions: the migrations and the version to migrate to. */
export interface SettingsVersioning {
  migrations: Readonly<Record<number, SettingsMigration>>;
  version: number;
}

/** The conf/electron-store options of the settings file in `dataDir`: location, version, migrations. */
export function settingsFileOptions(dataDir: string, versioning: SettingsVersioning = { migrations: SETTINGS_MIGRATIONS, version: SETTINGS_VERSION }): SettingsFileOptions {
  return {
    cwd: dataDir,
    configName: SETTINGS_FILE_NAME,
    name: SETTINGS_FILE_NAME,
    projectVersion: settingsVersionTag(versioning.version),
    migrations: confMigrations(versioning.migrations),
    // A webhook URL can carry a token: the file is for this user only.
    configFileMode: 0o600,
  };
}

const headlessBacking: SettingsBackingFactory = (options) => new Conf<RawSettings>(options);

function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`).join('; ');
}

/**
 * Parses stored settings, replacing each invalid field by its default and keeping the rest.
 * Returns the settings and what was replaced ('' when nothing).
 */
function salvage(raw: RawSettings): { settings: Settings; replaced: string } {
  const first = settingsSchema.safeParse(raw);
  if (first.success) return { settings: first.data, replaced: '' };
  const repaired = structuredClone(raw);
  for (const issue of first.error.issues) removePath(repaired, issue.path);
  const second = settingsSchema.safeParse(repaired);
  return { settings: second.success ? second.data : settingsSchema.parse({}), replaced: describeIssues(first.error.issues) };
}

function removePath(target: RawSettings, keys: ReadonlyArray<PropertyKey>): void {
  // An invalid array element removes the whole array: its default is then used.
  const objectKeys = keys.slice(0, Math.max(1, keys.findIndex((key) => typeof key === 'number')));
  let node: unknown = target;
  for (const key of objectKeys.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  if (typeof node === 'object' && node !== null) delete (node as Record<PropertyKey, unknown>)[objectKeys[objectKeys.length - 1]!];
}

function asidePath(file: string, now: Date): string {
  return `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
}

/** Why the file's text is not a JSON object (cut off by a crash, edited by hand, …), or null. */
function unreadableReason(text: string): string | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? null : 'it is not a JSON object';
  } catch {
    // Not the parser's message: it quotes the file, and a webhook URL in it may carry a token.
    return 'it is not valid JSON';
  }
}

/**
 * Opens the settings of `dataDir`, migrating the file to the current version. A file that is not
 * JSON, or whose migration fails, is moved aside (`settings.json.corrupt-<time>`) and the defaults
 * are used; of a file with invalid values a copy is kept aside and only those values return to
 * their defaults. Each case logs one warning naming the file kept aside.
 */
export function openSettingsStore(
  dataDir: string,
  log: Logger,
  options: { createBacking?: SettingsBackingFactory; versioning?: SettingsVersioning; now?: () => Date } = {},
): SettingsStore {
  const create = options.createBacking ?? headlessBacking;
  const fileOptions = settingsFileOptions(dataDir, options.versioning);
  const file = path.join(dataDir, `${SETTINGS_FILE_NAME}.json`);
  const now = options.now ?? (() => new Date());
  // Read before conf touches the file, so that what is kept aside is exactly what was there.
  const original = existsSync(file) ? readFileSync(file) : null;
  const setAside = (reason: string, outcome: 'defaults' | 'partly defaults'): void => {
    const aside = asidePath(file, now());
    writeFileSync(aside, original ?? '', { mode: 0o600 });
    if (outcome === 'defaults') rmSync(file, { force: true });
    log.warn(`The settings file ${file} could not be used as it was: ${reason}. It was kept as ${aside}; ${outcome === 'defaults' ? 'the default settings are used' : 'those values are back to their defaults, the others were kept'}.`);
  };

  const unreadable = original === null ? null : unreadableReason(original.toString('utf8'));
  if (unreadable) setAside(unreadable, 'defaults');
  let backing: SettingsBacking;
  try {
    backing = create(fileOptions);
  } catch (err) {
    // File-system errors (an unwritable folder) are real problems; only a failed migration is the file's fault.
    if (!existsSync(file) || (err as NodeJS.ErrnoException).code !== undefined) throw err;
    setAside(`migrating it failed (${(err as Error).message.split('\n')[0]})`, 'defaults');
    backing = create(fileOptions);
  }

  const { settings: loaded, replaced } = salvage(withoutBookkeeping(backing.store));
  if (replaced) {
    setAside(`some values are not allowed (${replaced})`, 'partly defaults');
    backing.store = { ...loaded };
  }
  let current = loaded;
  const listeners = new Set<(settings: Settings) => void>();

  return {
    get: () => structuredClone(current),
    update(patch) {
      const merged: RawSettings = { ...current };
      for (const [key, value] of Object.entries(patch)) {
        const before = merged[key];
        const isGroup = typeof value === 'object' && value !== null && !Array.isArray(value) && typeof before === 'object' && before !== null;
        merged[key] = isGroup ? { ...before, ...value } : value;
      }
      const parsed = settingsSchema.safeParse(merged);
      if (!parsed.success) throw new InvalidSettingsError(`Settings not saved: ${describeIssues(parsed.error.issues)}.`);
      backing.store = { ...parsed.data };
      current = parsed.data;
      for (const listener of listeners) listener(structuredClone(current));
      return structuredClone(current);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
