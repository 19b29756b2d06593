/**
 * Migrations of the settings file, shared by headless mode (conf) and the desktop app
 * (electron-store, which is conf underneath): both run them through conf's migration mechanism,
 * keyed by SETTINGS_VERSION (shared/settings.ts).
 */
import type Conf from 'conf';

/** Settings as stored, before validation: any older shape. */
export type RawSettings = Record<string, unknown>;

/**
 * Turns the settings of the previous version into those of this one. It must accept any older
 * shape, an empty object included (a fresh file runs every step), and keep fields it does not know.
 */
export type SettingsMigration = (settings: RawSettings) => RawSettings;

/** Every migration, keyed by the version it produces (2, 3, …). Version 1 is the first schema. */
export const SETTINGS_MIGRATIONS: Readonly<Record<number, SettingsMigration>> = {};

/** conf's version string for a settings version: conf orders migrations by semver. */
export const settingsVersionTag = (version: number): string => `${version}.0.0`;

// conf keeps its migration bookkeeping under this key; migrations never see it.
const CONF_INTERNAL_KEY = '__internal__';

/** Strips conf's bookkeeping from what is read from the file. */
export function withoutBookkeeping(stored: RawSettings): RawSettings {
  const { [CONF_INTERNAL_KEY]: _bookkeeping, ...settings } = stored;
  return settings;
}

/** The migrations in conf's form (`{'2.0.0': store => …}`), for `new Conf(…)` and `new ElectronStore(…)`. */
export function confMigrations(migrations: Readonly<Record<number, SettingsMigration>> = SETTINGS_MIGRATIONS): Record<string, (store: Conf<RawSettings>) => void> {
  return Object.fromEntries(
    Object.entries(migrations).map(([version, migrate]) => [
      settingsVersionTag(Number(version)),
      (store: Conf<RawSettings>) => {
        // conf re-attaches its bookkeeping when the new object lacks it.
        store.store = migrate(withoutBookkeeping(store.store));
      },
    ]),
  );
}
