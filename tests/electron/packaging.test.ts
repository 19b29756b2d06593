/**
 * What can be checked of packaging without the Electron binary: electron-builder.yml passes
 * electron-builder's own schema and says what the issue asks (targets, LSUIElement, fuses, native
 * addons outside asar, better-sqlite3's Electron build where main looks for it); the committed
 * icons are the ones scripts/make-icons.mjs draws, and fit each platform; the preload bundle runs
 * the way a sandboxed preload is run.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../shared/api.js';
import { tempDir } from '../support/temp.js';

vi.mock('electron', () => import('./fake-electron.js'));

const require = createRequire(import.meta.url);
/** A build script, loaded as the build loads it (they are plain .mjs, outside the type-checked sources). */
const script = (name: string): Promise<unknown> => import(pathToFileURL(path.resolve('scripts', name)).href);

describe('electron-builder.yml', () => {
  /** The parts of electron-builder's Configuration read below. */
  interface BuilderConfig {
    mac: object;
    win: object;
    linux: object;
    directories: object;
    files: Array<{ filter: string[] }>;
    electronFuses: object;
    asarUnpack: string[];
    npmRebuild: boolean;
    extraResources: Array<{ from: string; to: string }>;
  }

  async function loadConfig(): Promise<BuilderConfig> {
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
    const config = await getConfig(process.cwd(), 'electron-builder.yml', null);
    await validateConfiguration(config, { isEnabled: false, add() {} });
    return config;
  }

  it('passes electron-builder’s schema', async () => {
    await expect(loadConfig()).resolves.toBeDefined();
  });

  it('builds a tray-only dmg, an NSIS installer, an AppImage and a deb with the icons of build/', async () => {
    const config = await loadConfig();
    expect(config.mac).toMatchObject({ target: 'dmg', icon: 'build/icon.png', extendInfo: { LSUIElement: true } });
    expect(config.win).toMatchObject({ target: 'nsis', icon: 'build/icon.ico' });
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'], icon: 'build/icon.png' });
    expect(config.directories).toMatchObject({ buildResources: 'build' });
    // electron-builder normalises `files` into file sets.
    expect(config.files[0].filter).toEqual(expect.arrayContaining(['dist/**/*', 'build/tray/**/*', '!node_modules/better-sqlite3/{build,deps,src}/**']));
  });

  it('sets the fuses', async () => {
    expect((await loadConfig()).electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableCookieEncryption: true,
    });
  });

  it('ships native addons outside asar, and better-sqlite3’s Electron build where main loads it from', async () => {
    const config = await loadConfig();
    expect(config.asarUnpack).toContain('**/*.node');
    expect(config.npmRebuild).toBe(false);
    const [resource] = config.extraResources;
    expect(resource!.from).toBe(path.join('build', 'native', 'electron', 'better_sqlite3.node'));
    const resourcesPath = '/opt/LLMeter/resources';
    expect(electronSqliteAddon({ isPackaged: true, resourcesPath, appRoot: `${resourcesPath}/app.asar` })).toBe(path.join(resourcesPath, resource!.to));
    expect(electronSqliteAddon({ isPackaged: false, resourcesPath, appRoot: '/src' })).toBe(path.join('/src', resource!.from));
  });
});

const { appPaths, electronSqliteAddon } = await import('../../electron/main/paths.js');
const { TRAY_STATES } = await import('../../electron/main/tray.js');

/** RGBA pixels of a PNG written by make-icons.mjs (8-bit RGBA, filter 0 on every row). */
function decodePng(png: Buffer): { width: number; height: number; pixels: Buffer } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect([png[24], png[25]]).toEqual([8, 6]);
  const data: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    if (png.toString('ascii', offset + 4, offset + 8) === 'IDAT') data.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    raw.copy(pixels, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, pixels };
}

/** The PNG images of an ICO file, with the size its directory gives. */
function icoImages(ico: Buffer): Array<{ size: number; png: Buffer }> {
  expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
  return Array.from({ length: ico.readUInt16LE(4) }, (_, i) => {
    const entry = 6 + 16 * i;
    return { size: ico[entry] || 256, png: ico.subarray(ico.readUInt32LE(entry + 12), ico.readUInt32LE(entry + 12) + ico.readUInt32LE(entry + 8)) };
  });
}

describe('icons', () => {
  it('every tray state has its icon on every platform, where main looks for it', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      for (const state of TRAY_STATES) {
        const file = appPaths(process.cwd(), platform).trayIcon(state);
        const bytes = readFileSync(file);
        if (platform === 'win32') expect(icoImages(bytes).map((image) => image.size)).toEqual([16, 20, 24, 32, 48]);
        else expect(decodePng(bytes).width).toBe(platform === 'darwin' ? 16 : 32);
      }
    }
  });

  it('macOS template images are black with alpha only (the OS tints them), with a 2x version', () => {
    for (const state of TRAY_STATES) {
      for (const [suffix, size] of [['', 16], ['@2x', 32]] as const) {
        const { width, pixels } = decodePng(readFileSync(`build/tray/tray-${state}Template${suffix}.png`));
        expect(width).toBe(size);
        let opaque = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          expect(pixels[i]! + pixels[i + 1]! + pixels[i + 2]!, `${state}${suffix} pixel ${i / 4}`).toBe(0);
          if (pixels[i + 3]! > 128) opaque++;
        }
        expect(opaque).toBeGreaterThan(size * 2);
      }
    }
  });

  it('states look different from one another', () => {
    const seen = new Set(TRAY_STATES.map((state) => decodePng(readFileSync(`build/tray/tray-${state}Template@2x.png`)).pixels.toString('base64')));
    expect(seen.size).toBe(TRAY_STATES.length);
  });

  it('the app icon is 1024 px for macOS and Linux, and goes up to 256 px in the ICO', () => {
    expect(decodePng(readFileSync('build/icon.png')).width).toBe(1024);
    expect(icoImages(readFileSync('build/icon.ico')).map((image) => image.size)).toEqual([16, 24, 32, 48, 64, 128, 256]);
  });

  it('the committed icons are what scripts/make-icons.mjs draws today', async () => {
    const { iconFiles, TRAY_STATES: scriptStates } = (await script('make-icons.mjs')) as { iconFiles(): Map<string, Buffer>; TRAY_STATES: string[] };
    expect(scriptStates).toEqual([...TRAY_STATES]);
    const pixelsOf = (file: string, bytes: Buffer): string[] =>
      file.endsWith('.ico') ? icoImages(bytes).map((image) => decodePng(image.png).pixels.toString('base64')) : [decodePng(bytes).pixels.toString('base64')];
    for (const [file, bytes] of iconFiles()) {
      expect(pixelsOf(file, readFileSync(path.join('build', file))), `build/${file} is out of date: run node scripts/make-icons.mjs`).toEqual(pixelsOf(file, bytes));
    }
  }, 60_000);
});

describe('the preload bundle', () => {
  it('is one CommonJS file that runs as Electron runs a sandboxed preload: only `electron` can be required', async () => {
    const { buildPreload } = (await script('build-preload.mjs')) as { buildPreload(outDir: string): Promise<string> };
    const file = await buildPreload(tempDir());
    const source = readFileSync(file, 'utf8');
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
    expect([...source.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((match) => match[1])).toEqual(['electron']);

    const exposed: Record<string, unknown> = {};
    const required: string[] = [];
    const sandboxRequire = (name: string): unknown => {
      required.push(name);
      if (name !== 'electron') throw new Error(`module not found: ${name}`);
      return {
        contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void (exposed[key] = api) },
        ipcRenderer: { invoke: async () => ({ ok: true, value: null }), on() {}, removeListener() {} },
      };
    };
    // A sandboxed preload is a script wrapped in a function; it has no module loader of its own.
    runInNewContext(`(function (require) {\n${source}\n})`, {})(sandboxRequire);
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed)).toEqual(['llmeter']);
    expect(Object.keys(exposed.llmeter as object).sort()).toEqual([...API_METHODS, 'on'].sort());
  }, 60_000);
});
