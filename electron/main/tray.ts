/**
 * The tray icon: what LLMs cost today and this month at a glance (macOS: the title next to the
 * icon; Windows and Linux: the tooltip and the menu's header), an icon for the worst state
 * (ok / warn / over budget / stale / error / no provider), and the context menu.
 */
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type Rectangle } from 'electron';
import type { Overview, ProviderStatus, SpendAmount } from '../../shared/api.js';
import { formatUsd } from '../../shared/budget-alerts.js';
import { parseAmountToNano } from '../../shared/money.js';

export type TrayState = Overview['state'];
export const TRAY_STATES = ['ok', 'warn', 'over', 'stale', 'error', 'empty'] as const satisfies readonly TrayState[];

/** The settings the menu shows as checkboxes. */
export interface TrayToggles {
  pollingPaused: boolean;
  launchAtLogin: boolean;
}

/** What the menu items and icon clicks do; the composition root wires them. */
export interface TrayActions {
  togglePopover(trayBounds: Rectangle | null): void;
  refreshNow(): void;
  openDashboard(): void;
  exportCsv(): void;
  setPollingPaused(paused: boolean): void;
  setLaunchAtLogin(enabled: boolean): void;
  quit(): void;
}

/** The words of the glance, computed from an Overview. */
export interface Glance {
  state: TrayState;
  /** macOS menu-bar title: today · month to date. */
  title: string;
  /** Hover text; Windows cuts tooltips at 127 characters. */
  tooltip: string;
  /** Disabled lines at the top of the menu. */
  header: string[];
  /** One disabled line per connected provider. */
  providerLines: string[];
}

const WINDOWS_TOOLTIP_LIMIT = 127;

const hasEstimate = (amount: SpendAmount): boolean => (parseAmountToNano(amount.estimatedUsd) ?? 0n) !== 0n;

/** "$12.34", or "~$12.34" when part of it is still an estimate. */
function amountShort(amount: SpendAmount): string {
  return `${hasEstimate(amount) ? '~' : ''}${formatUsd(amount.totalUsd)}`;
}

/** "$12.34 (incl. $1.20 estimated)" or "$12.34 (billed)". */
function amountLong(amount: SpendAmount): string {
  return `${formatUsd(amount.totalUsd)} (${hasEstimate(amount) ? `incl. ${formatUsd(amount.estimatedUsd)} estimated` : 'billed'})`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string, nowMs: number): string {
  const minutes = Math.max(0, Math.floor((nowMs - Date.parse(iso)) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / (24 * 60))} d ago`;
}

function freshness(providers: readonly ProviderStatus[], nowMs: number): string | null {
  const connected = providers.filter((p) => p.configured);
  const asOf = connected.map((p) => p.dataAsOf).filter((t): t is string => t !== null).sort()[0];
  const lastPoll = connected.map((p) => p.lastPollAt).filter((t): t is string => t !== null).sort().at(-1);
  if (!asOf && !lastPoll) return connected.length > 0 ? 'No data yet: the first poll is under way' : null;
  const parts = [asOf ? `billing data as of ${ago(asOf, nowMs)}` : 'no billing data yet', lastPoll ? `last poll ${ago(lastPoll, nowMs)}` : null];
  const text = parts.filter(Boolean).join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function providerLine(provider: ProviderStatus): string {
  if (provider.lastError) return `${provider.displayName}: ${provider.lastError}`;
  return `${provider.displayName}: ${amountShort(provider.today)} today`;
}

/** The budget closest to (or furthest past) its amount, when it is at warn or over. */
function worstBudgetLine(overview: Overview): string | null {
  const worst = overview.budgets.filter((b) => b.level !== 'ok').sort((a, b) => b.ratio - a.ratio)[0];
  if (!worst) return null;
  // Rounded down, as in the alerts: 99.9 % must not read as 100 %.
  const percent = Math.floor(worst.ratio * 100);
  return `${worst.level === 'over' ? 'Over budget' : 'Budget'} "${worst.name}": ${percent} % of ${formatUsd(worst.amountUsd)} this ${worst.period}`;
}

/** Computes the glance shown by the tray from an Overview. Pure: the tests read it directly. */
export function describeGlance(overview: Overview, nowMs: number): Glance {
  const demo = overview.demo ? ' (demo data)' : '';
  const connected = overview.providers.filter((p) => p.configured);
  const fresh = freshness(overview.providers, nowMs);
  const budget = worstBudgetLine(overview);
  const header =
    connected.length === 0
      ? ['No provider connected yet: open the dashboard to add a key']
      : [`Today ${amountLong(overview.today)}${demo}`, `Month to date ${amountLong(overview.month)}`, ...(fresh ? [fresh] : []), ...(budget ? [budget] : [])];
  const problem = connected.find((p) => p.lastError);
  const tooltipLines = [
    `LLMeter${demo}: today ${amountShort(overview.today)}, month ${amountShort(overview.month)}`,
    hasEstimate(overview.today) || hasEstimate(overview.month) ? '~ includes estimated spend' : null,
    budget ?? (problem ? `${problem.displayName}: ${problem.lastError}` : fresh),
  ];
  let tooltip = tooltipLines.filter((line): line is string => Boolean(line)).join('\n');
  if (connected.length === 0) tooltip = 'LLMeter: no provider connected yet';
  if (tooltip.length > WINDOWS_TOOLTIP_LIMIT) tooltip = `${tooltip.slice(0, WINDOWS_TOOLTIP_LIMIT - 1)}…`;
  return {
    state: overview.state,
    title: connected.length === 0 ? '' : `${amountShort(overview.today)} · ${amountShort(overview.month)}`,
    tooltip,
    header,
    providerLines: connected.map((p) => providerLine(p)),
  };
}

/** The glance when the core itself cannot answer (it failed to start, or getOverview threw). */
export function errorGlance(message: string): Glance {
  const line = message.split('\n')[0] ?? message;
  return {
    state: 'error',
    title: '',
    tooltip: `LLMeter: ${line}`.slice(0, WINDOWS_TOOLTIP_LIMIT),
    header: [`LLMeter cannot show spend: ${line}`],
    providerLines: [],
  };
}

/** The context menu for a glance. */
export function buildMenuTemplate(glance: Glance, toggles: TrayToggles, actions: TrayActions): MenuItemConstructorOptions[] {
  const info = (label: string): MenuItemConstructorOptions => ({ label, enabled: false });
  return [
    ...glance.header.map(info),
    ...(glance.providerLines.length > 0 ? [{ type: 'separator' } as const, ...glance.providerLines.map(info)] : []),
    { type: 'separator' },
    { label: 'Refresh now', click: () => actions.refreshNow() },
    { label: 'Open dashboard', click: () => actions.openDashboard() },
    { label: 'Export CSV…', click: () => actions.exportCsv() },
    { type: 'separator' },
    // Electron flips a checkbox before calling click: `item.checked` is what the user asked for,
    // even on a menu opened again before the refreshed one replaced it.
    { label: 'Pause polling', type: 'checkbox', checked: toggles.pollingPaused, click: (item) => actions.setPollingPaused(item.checked) },
    { label: 'Launch at login', type: 'checkbox', checked: toggles.launchAtLogin, click: (item) => actions.setLaunchAtLogin(item.checked) },
    { type: 'separator' },
    { label: 'Quit LLMeter', click: () => actions.quit() },
  ];
}

export interface TrayOptions {
  platform: NodeJS.Platform;
  /** File of the icon for a state (template PNG on macOS, ICO on Windows, PNG on Linux). */
  iconFile(state: TrayState): string;
  /** Where the glance comes from: the API's overview and the settings behind the checkboxes. */
  source: { overview(): Promise<Overview>; toggles(): Promise<TrayToggles> };
  actions: TrayActions;
  now?: () => number;
}

/** The tray icon and its menu. */
export interface TrayController {
  /** Reloads the overview and shows it; an error becomes the error icon and a line saying what failed. */
  refresh(): Promise<void>;
  /** Shows a problem the core reported outside an overview (e.g. it could not start). */
  showError(message: string): void;
  /** The glance last shown. */
  readonly glance: Glance;
  /** Where the icon is on screen (macOS and Windows; an empty rectangle on Linux). */
  bounds(): Rectangle;
  destroy(): void;
}

/**
 * Creates the tray icon. On macOS a left click opens the popover and a right click the menu (a
 * context menu set with setContextMenu would swallow the left click there); on Windows and Linux
 * the menu is attached, and set again after every change because Linux trays (StatusNotifierItem)
 * only pick up a new menu that way.
 */
export function createTray(options: TrayOptions): TrayController {
  const now = options.now ?? Date.now;
  let glance: Glance = { state: 'empty', title: '', tooltip: 'LLMeter: starting…', header: ['Starting…'], providerLines: [] };
  let toggles: TrayToggles = { pollingPaused: false, launchAtLogin: false };
  let menu = Menu.buildFromTemplate(buildMenuTemplate(glance, toggles, options.actions));
  let iconState: TrayState = glance.state;
  // Overlapping refreshes (a poll finishing while the user clicks Refresh) must not let an older
  // overview overwrite a newer one.
  let latestRequest = 0;
  const tray = new Tray(nativeImage.createFromPath(options.iconFile(iconState)));
  tray.setToolTip(glance.tooltip);
  if (options.platform === 'darwin') {
    tray.setIgnoreDoubleClickEvents(true);
    tray.on('right-click', () => tray.popUpContextMenu(menu));
  } else {
    tray.setContextMenu(menu);
  }
  tray.on('click', (_event, bounds) => options.actions.togglePopover(bounds));

  const show = (next: Glance): void => {
    glance = next;
    if (next.state !== iconState) {
      iconState = next.state;
      tray.setImage(nativeImage.createFromPath(options.iconFile(iconState)));
    }
    if (options.platform === 'darwin') tray.setTitle(next.title, { fontType: 'monospacedDigit' });
    tray.setToolTip(next.tooltip);
    menu = Menu.buildFromTemplate(buildMenuTemplate(next, toggles, options.actions));
    if (options.platform !== 'darwin') tray.setContextMenu(menu);
  };

  return {
    get glance() {
      return glance;
    },
    bounds: () => tray.getBounds(),
    async refresh() {
      const request = ++latestRequest;
      let next: Glance;
      try {
        const [overview, currentToggles] = await Promise.all([options.source.overview(), options.source.toggles()]);
        toggles = currentToggles;
        next = describeGlance(overview, now());
      } catch (err) {
        next = errorGlance(err instanceof Error ? err.message : String(err));
      }
      if (request === latestRequest) show(next);
    },
    showError(message) {
      latestRequest++;
      show(errorGlance(message));
    },
    destroy() {
      tray.destroy();
    },
  };
}
