/**
 * The desktop app wired together, against the fake Electron but with everything else real: the
 * core polls fake provider servers into a real SQLite file, settings live in electron-store, and
 * the tray, IPC, windows and notifications react as a user would see them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../core/log.js';
import type { Overview } from '../../shared/api.js';
import { formatUsd } from '../../shared/budget-alerts.js';
import { parseAmountToNano } from '../../shared/money.js';
import { PROVIDERS } from '../../shared/providers.js';
import { FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { tempDir } from '../support/temp.js';
import { app, dialog, FakeBrowserWindow, FakeNotification, FakeTray, FakeWebContents, FakeWebFrameMain, ipcMain, powerMonitor, resetFakeElectron, shell } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { startDesktopApp } = await import('../../electron/main/app.js');
type DesktopApp = Awaited<ReturnType<typeof startDesktopApp>>;

const NOW = Math.floor(Date.now() / 1000);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let fake: ProviderFake;
let desktop: DesktopApp | null = null;

beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 6, seed: 11, now: NOW }), now: NOW });
});
afterAll(async () => fake.close());

beforeEach(() => resetFakeElectron());
afterEach(async () => {
  await desktop?.core?.budgetAlerts.idle();
  await desktop?.close();
  desktop = null;
});

function env(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    LLMETER_DATA_DIR: dataDir,
    LLMETER_PORT: '0',
    LLMETER_METRICS_TOKEN: 'test-metrics-token-0123456789',
    LLMETER_INGEST_TOKEN: 'test-ingest-token-0123456789',
    XDG_CONFIG_HOME: path.join(dataDir, 'xdg'),
    [PROVIDERS.openai.keyEnv]: FAKE_KEYS.openai.admin,
    [PROVIDERS.openai.baseUrlEnv]: fake.baseUrl('openai'),
    ...extra,
  };
}

async function start(extra: NodeJS.ProcessEnv = {}): Promise<{ desktop: DesktopApp; dataDir: string }> {
  const dataDir = tempDir();
  app.paths = { downloads: dataDir, home: dataDir, userData: path.join(dataDir, 'chromium') };
  desktop = await startDesktopApp({ env: env(dataDir, extra), platform: 'linux', log: silent, secretStore: null, appRoot: '/opt/llmeter', ozonePlatform: '' });
  return { desktop, dataDir };
}

/** Waits until the first poll is in and the tray has redrawn after it. */
async function polled(running: DesktopApp): Promise<Overview> {
  await running.core!.pollNow();
  const overview = await running.core!.api.getOverview();
  await vi.waitFor(() => expect(FakeTray.instances[0]!.tooltip).toContain(formatUsd(overview.month.totalUsd)));
  return overview;
}

const popoverSender = () => {
  const popover = FakeBrowserWindow.instances[0]!;
  return { contents: popover.webContents, frame: popover.webContents.mainFrame };
};

describe('after a poll', () => {
  it('the tray shows today and month to date from the database, with the icon of the overview’s state', async () => {
    const { desktop } = await start();
    const overview = await polled(desktop);
    expect(parseAmountToNano(overview.month.totalUsd)).toBeGreaterThan(0n);
    const tray = FakeTray.instances[0]!;
    expect(tray.image.path).toBe(`/opt/llmeter/build/tray/tray-${overview.state}.png`);
    expect(overview.state).not.toBe('error');
    const menu = tray.contextMenu!;
    expect(menu.labels()[0]).toMatch(/^Today \$/);
    expect(menu.labels()).toContain(`Month to date ${formatUsd(overview.month.totalUsd)} (${parseAmountToNano(overview.month.estimatedUsd) ? `incl. ${formatUsd(overview.month.estimatedUsd)} estimated` : 'billed'})`);
    expect(menu.labels().some((label) => label.startsWith('OpenAI: '))).toBe(true);
    expect(menu.labels().some((label) => label.startsWith('Anthropic'))).toBe(false);
    expect(fake.requestsTo('openai').length).toBeGreaterThan(0);
  });

  it('every window is told that data changed', async () => {
    const { desktop } = await start();
    await polled(desktop);
    const popover = FakeBrowserWindow.instances[0]!;
    expect(popover.webContents.sent.some((message) => message.channel === 'llmeter:event:dataChanged')).toBe(true);
  });
});

describe('IPC of the running app', () => {
  it('answers the popover’s page and refuses anyone else', async () => {
    const { desktop } = await start();
    await polled(desktop);
    const reply = (await ipcMain.invoke('llmeter:getOverview', popoverSender())) as { ok: boolean; value: Overview };
    expect(reply.ok).toBe(true);
    expect(reply.value.month).toEqual((await desktop.core!.api.getOverview()).month);
    const stranger = { contents: new FakeWebContents(), frame: new FakeWebFrameMain(popoverSender().frame.url) };
    await expect(ipcMain.invoke('llmeter:getOverview', stranger)).rejects.toThrow('not part of LLMeter');
  });

  it('has no IPC listener but the checked API handlers (electron-store’s unchecked channel is closed)', async () => {
    await start();
    expect(ipcMain.eventNames()).toEqual([]);
    expect([...ipcMain.handlers.keys()].every((channel) => channel.startsWith('llmeter:'))).toBe(true);
  });

  it('never sends a key back: provider statuses carry at most a 4-character fingerprint', async () => {
    const { desktop } = await start();
    await polled(desktop);
    const reply = (await ipcMain.invoke('llmeter:listProviders', popoverSender())) as { ok: boolean; value: unknown };
    const text = JSON.stringify(reply);
    expect(reply.ok).toBe(true);
    expect(text).not.toContain(FAKE_KEYS.openai.admin);
    expect(text).not.toContain(FAKE_KEYS.openai.admin.slice(0, 12));
  });
});

describe('budget alerts', () => {
  const tinyBudget = { name: 'Tiny', scope: { kind: 'all' }, period: 'month', amountUsd: '0.01', thresholds: [50, 80, 100] };

  it('a crossing shows one notification, never again for the same crossing; its click opens the dashboard on the budget', async () => {
    const { desktop } = await start();
    await polled(desktop);
    const created = (await ipcMain.invoke('llmeter:createBudget', popoverSender(), tinyBudget)) as { ok: boolean; value: { id: number } };
    expect(created.ok).toBe(true);
    await desktop.core!.budgetAlerts.idle();
    expect(FakeNotification.instances).toHaveLength(1);
    const notification = FakeNotification.instances[0]!;
    expect(notification.shown).toBe(true);
    expect(notification.options.title).toMatch(/^Tiny: over budget, \d+ % used$/);
    expect(desktop.notifier.live.size).toBe(1);

    await desktop.core!.pollNow();
    desktop.core!.budgetAlerts.evaluate();
    await desktop.core!.budgetAlerts.idle();
    expect(FakeNotification.instances).toHaveLength(1);

    notification.emit('click');
    expect(desktop.notifier.live.size).toBe(0);
    const dashboard = FakeBrowserWindow.instances.at(-1)!;
    expect(dashboard).not.toBe(FakeBrowserWindow.instances[0]);
    dashboard.webContents.finishLoad();
    expect(dashboard.webContents.sent).toContainEqual({ channel: 'llmeter:event:showBudget', args: [{ budgetId: created.value.id }] });
  });

  it('stay silent while alerts are muted (they are still recorded)', async () => {
    const { desktop } = await start();
    await polled(desktop);
    desktop.settings.update({ alerts: { muted: true } });
    await ipcMain.invoke('llmeter:createBudget', popoverSender(), tinyBudget);
    await desktop.core!.budgetAlerts.idle();
    expect(FakeNotification.instances).toHaveLength(0);
    expect((await desktop.core!.api.listAlerts({})).length).toBeGreaterThan(0);
  });
});

describe('the tray menu of the running app', () => {
  it('pauses and resumes polling, saved in the settings', async () => {
    const { desktop } = await start();
    await polled(desktop);
    FakeTray.instances[0]!.contextMenu!.click('Pause polling');
    expect(desktop.settings.get().pollingPaused).toBe(true);
    expect(desktop.core!.scheduler.paused).toBe(true);
    await vi.waitFor(() => expect(FakeTray.instances[0]!.contextMenu!.item('Pause polling').checked).toBe(true));
    FakeTray.instances[0]!.contextMenu!.click('Pause polling');
    expect(desktop.core!.scheduler.paused).toBe(false);
  });

  it('keeps the settings in the data folder’s settings.json, the file headless mode reads too', async () => {
    const { desktop, dataDir } = await start();
    FakeTray.instances[0]!.contextMenu!.click('Pause polling');
    expect(desktop.settings.get().pollingPaused).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'settings.json'), 'utf8'))).toMatchObject({ pollingPaused: true });
  });

  it('turns launch at login on (an XDG autostart entry on Linux) and off', async () => {
    const { desktop, dataDir } = await start();
    await polled(desktop);
    const entry = path.join(dataDir, 'xdg', 'autostart', 'llmeter.desktop');
    expect(existsSync(entry)).toBe(false);
    FakeTray.instances[0]!.contextMenu!.click('Launch at login');
    expect(desktop.settings.get().launchAtLogin).toBe(true);
    expect(existsSync(entry)).toBe(true);
    await vi.waitFor(() => expect(FakeTray.instances[0]!.contextMenu!.item('Launch at login').checked).toBe(true));
    FakeTray.instances[0]!.contextMenu!.click('Launch at login');
    expect(existsSync(entry)).toBe(false);
  });

  it('exports a CSV where the save dialog says, then shows it in its folder', async () => {
    const { desktop, dataDir } = await start();
    await polled(desktop);
    const file = path.join(dataDir, 'spend.csv');
    dialog.nextSavePath = file;
    FakeTray.instances[0]!.contextMenu!.click('Export CSV…');
    await vi.waitFor(() => expect(shell.shownInFolder).toEqual([file]));
    expect(dialog.saveDialogs[0]!.options.defaultPath).toMatch(new RegExp(`^${dataDir}/llmeter-usage-day-.*\\.csv$`));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toContain('cost_usd');
    expect(lines.length).toBeGreaterThan(1);
    expect(dialog.errorBoxes).toEqual([]);
  });

  it('exports from the dashboard through the API: the dialog belongs to the dashboard window, the answer says where and how many rows', async () => {
    const { desktop, dataDir } = await start();
    await polled(desktop);
    const dashboard = desktop.windows.openDashboard() as unknown as FakeBrowserWindow;
    dashboard.focus();
    const file = path.join(dataDir, 'usage.jsonl');
    dialog.nextSavePath = file;
    const reply = (await ipcMain.invoke('llmeter:exportData', { contents: dashboard.webContents, frame: dashboard.webContents.mainFrame }, { format: 'jsonl', granularity: 'month', providers: ['openai'] })) as {
      ok: boolean;
      value: { saved: boolean; path: string; rows: number };
    };
    expect(reply).toMatchObject({ ok: true, value: { saved: true, path: file } });
    expect(dialog.saveDialogs[0]!.parent).toBe(dashboard);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(reply.value.rows);
    expect(JSON.parse(lines[0]!)).toMatchObject({ provider: 'openai' });
  });

  it('writes nothing when the save dialog is cancelled', async () => {
    const { desktop } = await start();
    await polled(desktop);
    FakeTray.instances[0]!.contextMenu!.click('Export CSV…');
    await vi.waitFor(() => expect(dialog.saveDialogs).toHaveLength(1));
    expect(shell.shownInFolder).toEqual([]);
    expect(dialog.errorBoxes).toEqual([]);
  });

  it('"Refresh now" and waking the machine poll the providers again', async () => {
    const { desktop } = await start();
    await polled(desktop);
    const before = fake.requestsTo('openai').length;
    FakeTray.instances[0]!.contextMenu!.click('Refresh now');
    await desktop.core!.pollNow();
    const afterRefresh = fake.requestsTo('openai').length;
    expect(afterRefresh).toBeGreaterThan(before);
    powerMonitor.emit('resume');
    await desktop.core!.pollNow();
    expect(fake.requestsTo('openai').length).toBeGreaterThan(afterRefresh);
  });
});

describe('when the core cannot start', () => {
  let blocker: Server;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('the tray stays up in the error state and says why; the API answers with the reason', async () => {
    const port = (blocker.address() as { port: number }).port;
    const { desktop } = await start({ LLMETER_PORT: String(port) });
    expect(desktop.core).toBeNull();
    const tray = FakeTray.instances[0]!;
    expect(tray.image.path).toBe('/opt/llmeter/build/tray/tray-error.png');
    expect(tray.tooltip).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    expect(tray.contextMenu!.labels()).toContain('Quit LLMeter');
    const reply = (await ipcMain.invoke('llmeter:getOverview', popoverSender())) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).toContain('already in use');
  });
});
