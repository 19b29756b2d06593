/**
 * The tray: the glance's words from an Overview, the icon per state, the menu and what its items
 * do, on macOS (title, template icon, right-click menu) and on Windows/Linux (tooltip, attached menu).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Overview, ProviderStatus, SpendAmount } from '../../shared/api.js';
import type { BudgetStatus } from '../../shared/budgets.js';
import { PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { FakeEvent, FakeTray, resetFakeElectron } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { buildMenuTemplate, createTray, describeGlance, errorGlance, ago } = await import('../../electron/main/tray.js');
const { appPaths } = await import('../../electron/main/paths.js');

const NOW = Date.UTC(2026, 10, 19, 15, 30);
const isoAgo = (minutes: number): string => new Date(NOW - minutes * 60_000).toISOString();
const amount = (totalUsd: string, estimatedUsd = '0'): SpendAmount => ({ totalUsd, billedUsd: totalUsd, estimatedUsd });

function provider(id: ProviderId, fields: Partial<ProviderStatus> = {}): ProviderStatus {
  return {
    provider: id,
    displayName: PROVIDERS[id].displayName,
    configured: true,
    keySource: 'keychain',
    keyFingerprint: 'ab12',
    validatedAt: null,
    lastPollAt: isoAgo(5),
    lastSuccessAt: isoAgo(5),
    dataAsOf: isoAgo(90),
    lastError: null,
    lastErrorKind: null,
    backfillProgress: null,
    balance: null,
    today: amount('0'),
    monthToDate: amount('0'),
    keyUrl: PROVIDERS[id].keyUrl,
    keyName: PROVIDERS[id].keyName,
    ...fields,
  };
}

function budget(fields: Partial<BudgetStatus>): BudgetStatus {
  return {
    id: 1,
    name: 'Team',
    scope: { kind: 'all' },
    period: 'month',
    amountUsd: '500',
    thresholds: [50, 80, 100],
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    spentUsd: '0',
    estimatedUsd: '0',
    forecastUsd: '0',
    ratio: 0,
    level: 'ok',
    forecastToExceed: false,
    ...fields,
  };
}

function overview(fields: Partial<Overview> = {}): Overview {
  return {
    generatedAt: new Date(NOW).toISOString(),
    demo: false,
    today: amount('12.345', '1.2'),
    week: amount('80'),
    month: amount('456.784'),
    providers: [provider('openai', { today: amount('10.005', '1.2') }), provider('anthropic', { today: amount('2.34') }), provider('openrouter', { configured: false, lastPollAt: null, dataAsOf: null })],
    budgets: [],
    state: 'ok',
    ...fields,
  };
}

beforeEach(() => resetFakeElectron());

describe('describeGlance', () => {
  it('shows today and month to date, marking estimated spend and freshness', () => {
    const glance = describeGlance(overview(), NOW);
    expect(glance.title).toBe('~$12.35 · $456.78');
    expect(glance.header).toEqual(['Today $12.35 (incl. $1.20 estimated)', 'Month to date $456.78 (billed)', 'Billing data as of 1 h ago, last poll 5 min ago']);
    expect(glance.providerLines).toEqual(['OpenAI: ~$10.01 today', 'Anthropic: $2.34 today']);
    expect(glance.tooltip).toBe('LLMeter: today ~$12.35, month $456.78\n~ includes estimated spend\nBilling data as of 1 h ago, last poll 5 min ago');
    expect(glance.state).toBe('ok');
  });

  it('names the worst budget at warn or over, rounded down', () => {
    const glance = describeGlance(
      overview({ budgets: [budget({ name: 'Small', level: 'warn', ratio: 0.85, amountUsd: '10' }), budget({ name: 'Team', level: 'over', ratio: 1.0199 })], state: 'over' }),
      NOW,
    );
    expect(glance.header).toContain('Over budget "Team": 101 % of $500.00 this month');
    expect(glance.tooltip.split('\n')[2]).toBe('Over budget "Team": 101 % of $500.00 this month');
  });

  it('puts a provider’s error in its menu line and in the tooltip', () => {
    const glance = describeGlance(overview({ providers: [provider('anthropic', { lastError: 'Anthropic rejected the key: create a new Admin API key' })], state: 'error' }), NOW);
    expect(glance.providerLines).toEqual(['Anthropic: Anthropic rejected the key: create a new Admin API key']);
    expect(glance.tooltip).toContain('Anthropic: Anthropic rejected the key');
  });

  it('says when nothing is connected yet', () => {
    const glance = describeGlance(overview({ providers: [provider('openai', { configured: false })], today: amount('0'), month: amount('0'), state: 'empty' }), NOW);
    expect(glance.title).toBe('');
    expect(glance.tooltip).toBe('LLMeter: no provider connected yet');
    expect(glance.header).toEqual(['No provider connected yet: open the dashboard to add a key']);
  });

  it('marks demo data, shows "<$0.01" rather than "$0.00", and keeps the tooltip within Windows’ 127 characters', () => {
    const long = 'x'.repeat(300);
    const glance = describeGlance(overview({ demo: true, today: amount('0.004'), providers: [provider('openai', { lastError: long })] }), NOW);
    expect(glance.header[0]).toBe('Today <$0.01 (billed) (demo data)');
    expect(glance.title.startsWith('<$0.01 · ')).toBe(true);
    expect(glance.tooltip.length).toBeLessThanOrEqual(127);
  });

  it('says how old data is in words', () => {
    expect(ago(isoAgo(0.5), NOW)).toBe('just now');
    expect(ago(isoAgo(59), NOW)).toBe('59 min ago');
    expect(ago(isoAgo(47 * 60), NOW)).toBe('47 h ago');
    expect(ago(isoAgo(72 * 60), NOW)).toBe('3 d ago');
  });
});

function actions() {
  return {
    togglePopover: vi.fn(),
    refreshNow: vi.fn(),
    openDashboard: vi.fn(),
    exportCsv: vi.fn(),
    setPollingPaused: vi.fn(),
    setLaunchAtLogin: vi.fn(),
    quit: vi.fn(),
  };
}

describe('the menu', () => {
  it('lists the glance, then the commands, with checkboxes from the settings', () => {
    const template = buildMenuTemplate(describeGlance(overview(), NOW), { pollingPaused: true, launchAtLogin: false }, actions());
    expect(template.filter((i) => i.type !== 'separator').map((i) => i.label)).toEqual([
      'Today $12.35 (incl. $1.20 estimated)',
      'Month to date $456.78 (billed)',
      'Billing data as of 1 h ago, last poll 5 min ago',
      'OpenAI: ~$10.01 today',
      'Anthropic: $2.34 today',
      'Refresh now',
      'Open dashboard',
      'Export CSV…',
      'Pause polling',
      'Launch at login',
      'Quit LLMeter',
    ]);
    expect(template.slice(0, 3).every((i) => i.enabled === false)).toBe(true);
    expect(template.find((i) => i.label === 'Pause polling')).toMatchObject({ type: 'checkbox', checked: true });
    expect(template.find((i) => i.label === 'Launch at login')).toMatchObject({ type: 'checkbox', checked: false });
  });
});

describe('createTray on Linux and Windows', () => {
  const linuxPaths = appPaths('/app', 'linux');

  it('shows the overview after a refresh: icon, tooltip and an attached menu', async () => {
    const source = { overview: vi.fn(async () => overview({ state: 'warn', budgets: [budget({ level: 'warn', ratio: 0.8 })] })), toggles: async () => ({ pollingPaused: false, launchAtLogin: true }) };
    const tray = createTray({ platform: 'linux', iconFile: linuxPaths.trayIcon, source, actions: actions(), now: () => NOW });
    const icon = FakeTray.instances[0]!;
    expect(icon.image.path).toBe('/app/build/tray/tray-empty.png');
    await tray.refresh();
    expect(icon.image.path).toBe('/app/build/tray/tray-warn.png');
    expect(icon.tooltip.split('\n')[0]).toBe('LLMeter: today ~$12.35, month $456.78');
    expect(icon.title).toBe('');
    expect(icon.contextMenu!.labels()).toContain('Budget "Team": 80 % of $500.00 this month');
    expect(icon.contextMenu!.item('Launch at login').checked).toBe(true);
  });

  it('sets the menu again after every change (Linux trays only pick it up that way)', async () => {
    let today = '1';
    const tray = createTray({ platform: 'linux', iconFile: linuxPaths.trayIcon, source: { overview: async () => overview({ today: amount(today) }), toggles: async () => ({ pollingPaused: false, launchAtLogin: false }) }, actions: actions(), now: () => NOW });
    await tray.refresh();
    const first = FakeTray.instances[0]!.contextMenu;
    today = '2';
    await tray.refresh();
    expect(FakeTray.instances[0]!.contextMenu).not.toBe(first);
    expect(FakeTray.instances[0]!.contextMenu!.labels()[0]).toBe('Today $2.00 (billed)');
  });

  it('runs the actions of the menu items and of a click on the icon', async () => {
    const act = actions();
    const tray = createTray({ platform: 'win32', iconFile: appPaths('C:\\app', 'win32').trayIcon, source: { overview: async () => overview(), toggles: async () => ({ pollingPaused: false, launchAtLogin: true }) }, actions: act, now: () => NOW });
    await tray.refresh();
    const icon = FakeTray.instances[0]!;
    expect(icon.image.path).toMatch(/tray-ok\.ico$/);
    const menu = icon.contextMenu!;
    for (const label of ['Refresh now', 'Open dashboard', 'Export CSV…', 'Pause polling', 'Launch at login', 'Quit LLMeter']) menu.click(label);
    expect(act.refreshNow).toHaveBeenCalledOnce();
    expect(act.openDashboard).toHaveBeenCalledOnce();
    expect(act.exportCsv).toHaveBeenCalledOnce();
    expect(act.setPollingPaused).toHaveBeenCalledExactlyOnceWith(true);
    expect(act.setLaunchAtLogin).toHaveBeenCalledExactlyOnceWith(false);
    expect(act.quit).toHaveBeenCalledOnce();
    const bounds = { x: 1800, y: 1050, width: 24, height: 24 };
    icon.emit('click', new FakeEvent(), bounds, { x: 1810, y: 1060 });
    expect(act.togglePopover).toHaveBeenCalledExactlyOnceWith(bounds);
    expect(tray.bounds()).toEqual({ x: 0, y: 0, width: 0, height: 0 });
  });

  it('follows the checkbox as the user left it when a menu is used twice before it is redrawn', async () => {
    const act = actions();
    const tray = createTray({ platform: 'linux', iconFile: linuxPaths.trayIcon, source: { overview: async () => overview(), toggles: async () => ({ pollingPaused: false, launchAtLogin: false }) }, actions: act, now: () => NOW });
    await tray.refresh();
    const menu = FakeTray.instances[0]!.contextMenu!;
    menu.click('Pause polling');
    menu.click('Pause polling');
    expect(act.setPollingPaused.mock.calls).toEqual([[true], [false]]);
  });

  it('shows the error icon and the reason when the overview cannot be had', async () => {
    const tray = createTray({ platform: 'linux', iconFile: linuxPaths.trayIcon, source: { overview: async () => Promise.reject(new Error('database is locked\nstack…')), toggles: async () => ({ pollingPaused: false, launchAtLogin: false }) }, actions: actions(), now: () => NOW });
    await tray.refresh();
    const icon = FakeTray.instances[0]!;
    expect(icon.image.path).toBe('/app/build/tray/tray-error.png');
    expect(icon.tooltip).toBe('LLMeter: database is locked');
    expect(icon.contextMenu!.labels()[0]).toBe('LLMeter cannot show spend: database is locked');
    expect(errorGlance('x').state).toBe('error');
  });

  it('never lets an older overview overwrite a newer one', async () => {
    const pending: Array<(o: Overview) => void> = [];
    const tray = createTray({ platform: 'linux', iconFile: linuxPaths.trayIcon, source: { overview: () => new Promise<Overview>((resolve) => pending.push(resolve)), toggles: async () => ({ pollingPaused: false, launchAtLogin: false }) }, actions: actions(), now: () => NOW });
    const older = tray.refresh();
    const newer = tray.refresh();
    pending[1]!(overview({ today: amount('2') }));
    await newer;
    pending[0]!(overview({ today: amount('1') }));
    await older;
    expect(tray.glance.header[0]).toBe('Today $2.00 (billed)');
  });
});

describe('createTray on macOS', () => {
  it('writes the glance as the menu-bar title, uses template icons and opens the menu on right-click only', async () => {
    const act = actions();
    const tray = createTray({ platform: 'darwin', iconFile: appPaths('/Applications/LLMeter.app/Contents/Resources/app.asar', 'darwin').trayIcon, source: { overview: async () => overview({ state: 'stale' }), toggles: async () => ({ pollingPaused: false, launchAtLogin: false }) }, actions: act, now: () => NOW });
    await tray.refresh();
    const icon = FakeTray.instances[0]!;
    expect(icon.title).toBe('~$12.35 · $456.78');
    expect(icon.image.path).toBe('/Applications/LLMeter.app/Contents/Resources/app.asar/build/tray/tray-staleTemplate.png');
    expect(icon.contextMenu).toBeNull();
    expect(icon.ignoreDoubleClick).toBe(true);
    icon.emit('right-click', new FakeEvent(), { x: 0, y: 0, width: 22, height: 22 });
    expect(icon.poppedUp).toHaveLength(1);
    expect(icon.poppedUp[0]!.labels()[0]).toBe('Today $12.35 (incl. $1.20 estimated)');
    expect(act.togglePopover).not.toHaveBeenCalled();
  });
});
