import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../core/log.js';
import type { RawSettings } from '../../core/settings/migrations.js';
import { InvalidSettingsError, openSettingsStore, type SettingsVersioning } from '../../core/settings/store.js';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/settings.js';

let dataDir: string;
let file: string;
let warnings: string[];
let log: Logger;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-settings-'));
  file = path.join(dataDir, 'settings.json');
  warnings = [];
  log = createLogger({ level: 'warn', write: (line) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const writeFile = (content: unknown): void => writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
const readFile = (): RawSettings => JSON.parse(readFileSync(file, 'utf8')) as RawSettings;
const asideFiles = (): string[] => readdirSync(dataDir).filter((name) => name.startsWith('settings.json.corrupt-'));
const fixedNow = () => new Date('2026-03-04T05:06:07.089Z');

describe('settings store', () => {
  it('starts from the defaults in an empty data folder, writing a file only this user can read', () => {
    const store = openSettingsStore(dataDir, log);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    expect(warnings).toEqual([]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('saves a change, merging groups, and reads it back after reopening', () => {
    const store = openSettingsStore(dataDir, log);
    const seen: Settings[] = [];
    store.onChange((settings) => seen.push(settings));
    store.update({ pollIntervalMinutes: 5, alerts: { webhookUrl: 'https://hooks.example.test/T1' } });
    store.update({ alerts: { muted: true } });
    const reopened = openSettingsStore(dataDir, log).get();
    expect(reopened.pollIntervalMinutes).toBe(5);
    expect(reopened.alerts).toEqual({ muted: true, webhookUrl: 'https://hooks.example.test/T1' });
    expect(seen.map((s) => s.alerts.muted)).toEqual([false, true]);
  });

  it('refuses invalid values, naming each field, and saves nothing', () => {
    const store = openSettingsStore(dataDir, log);
    store.update({ port: 9800 });
    const before = readFileSync(file, 'utf8');
    const attempt = () => store.update({ port: 70_000, ui: { theme: 'neon' as Settings['ui']['theme'] } });
    expect(attempt).toThrow(InvalidSettingsError);
    expect(attempt).toThrow(/port: .*ui\.theme: /);
    expect(store.get().port).toBe(9800);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('hands out copies: changing what get() returned changes nothing', () => {
    const store = openSettingsStore(dataDir, log);
    store.get().budgets.defaultThresholds.push(120);
    expect(store.get().budgets.defaultThresholds).toEqual([50, 80, 100]);
  });

  it('sets a corrupt file aside, warns, and carries on with the defaults', () => {
    writeFile('{"pollIntervalMinutes": 5, "port":');
    const store = openSettingsStore(dataDir, log, { now: fixedNow });
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    expect(asideFiles()).toEqual(['settings.json.corrupt-2026-03-04T05-06-07-089Z']);
    expect(readFileSync(path.join(dataDir, asideFiles()[0]!), 'utf8')).toBe('{"pollIntervalMinutes": 5, "port":');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('is not valid JSON');
    expect(warnings[0]).toContain('settings.json.corrupt-2026-03-04T05-06-07-089Z');
    // The new file is usable.
    store.update({ backfillDays: 7 });
    expect(openSettingsStore(dataDir, log).get().backfillDays).toBe(7);
  });

  it('treats a file that is JSON but not an object as corrupt', () => {
    writeFile('[1, 2, 3]');
    expect(openSettingsStore(dataDir, log).get()).toEqual(DEFAULT_SETTINGS);
    expect(asideFiles()).toHaveLength(1);
    expect(warnings[0]).toContain('not a JSON object');
  });

  it('replaces only invalid values by their defaults, keeping the rest and a copy of the file', () => {
    const original = { pollIntervalMinutes: 5, port: 99_999, ui: { theme: 'neon' }, budgets: { defaultThresholds: [50, -1] }, alerts: { muted: true } };
    writeFile(original);
    const settings = openSettingsStore(dataDir, log).get();
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, pollIntervalMinutes: 5, alerts: { muted: true, webhookUrl: '' } });
    expect(warnings).toHaveLength(1);
    for (const field of ['port', 'ui.theme', 'budgets.defaultThresholds.1']) expect(warnings[0]).toContain(field);
    expect(JSON.parse(readFileSync(path.join(dataDir, asideFiles()[0]!), 'utf8'))).toEqual(original);
    // The repaired file no longer needs repairing.
    warnings.length = 0;
    expect(openSettingsStore(dataDir, log).get().port).toBe(DEFAULT_SETTINGS.port);
    expect(warnings).toEqual([]);
  });

  it('fills fields added since the file was written from the defaults', () => {
    writeFile({ port: 9800 });
    expect(openSettingsStore(dataDir, log).get()).toEqual({ ...DEFAULT_SETTINGS, port: 9800 });
    expect(warnings).toEqual([]);
  });
});

describe('settings migrations', () => {
  // A version 2 that renamed `pollMinutes` to `pollIntervalMinutes`, and a version 3 that moved `theme` into `ui`.
  let runs: number[];
  const versioning = (version: number): SettingsVersioning => ({
    version,
    migrations: {
      2: (settings) => {
        runs.push(2);
        const { pollMinutes, ...rest } = settings;
        return pollMinutes === undefined ? rest : { ...rest, pollIntervalMinutes: pollMinutes };
      },
      3: (settings) => {
        runs.push(3);
        const { theme, ...rest } = settings;
        return theme === undefined ? rest : { ...rest, ui: { ...(rest.ui as object), theme } };
      },
    },
  });
  beforeEach(() => (runs = []));

  it('brings a file of an older version up to date, in order, once', () => {
    writeFile({ pollMinutes: 7, theme: 'dark', port: 9800, __internal__: { migrations: { version: '1.0.0' } } });
    const settings = openSettingsStore(dataDir, log, { versioning: versioning(3) }).get();
    expect(runs).toEqual([2, 3]);
    expect(settings).toMatchObject({ pollIntervalMinutes: 7, port: 9800, ui: { theme: 'dark' } });
    expect(readFile()).toMatchObject({ pollIntervalMinutes: 7, __internal__: { migrations: { version: '3.0.0' } } });
    expect(readFile()).not.toHaveProperty('pollMinutes');
    openSettingsStore(dataDir, log, { versioning: versioning(3) });
    expect(runs).toEqual([2, 3]);
  });

  it('runs only the steps newer than the file', () => {
    writeFile({ pollIntervalMinutes: 9, theme: 'light', __internal__: { migrations: { version: '2.0.0' } } });
    const settings = openSettingsStore(dataDir, log, { versioning: versioning(3) }).get();
    expect(runs).toEqual([3]);
    expect(settings).toMatchObject({ pollIntervalMinutes: 9, ui: { theme: 'light' } });
  });

  it('sets a file whose migration fails aside and uses the defaults', () => {
    writeFile({ pollMinutes: 7, __internal__: { migrations: { version: '1.0.0' } } });
    const failing: SettingsVersioning = {
      version: 2,
      migrations: {
        2: (settings) => {
          if ('pollMinutes' in settings) throw new Error('cannot read pollMinutes');
          return settings;
        },
      },
    };
    const settings = openSettingsStore(dataDir, log, { versioning: failing }).get();
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(asideFiles()).toHaveLength(1);
    expect(warnings[0]).toContain('migrating it failed');
    expect(warnings[0]).toContain('cannot read pollMinutes');
    expect(existsSync(file)).toBe(true);
  });
});
