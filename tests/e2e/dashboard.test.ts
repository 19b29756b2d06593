/**
 * The dashboard as a person uses it in a browser: a real startCore (the `llmeter serve` core)
 * polling the fake providers, keys kept in a private real Secret Service, and Debian's Chromium
 * driven by playwright-core. First run, keys added through the UI, totals equal to the fakes'
 * truth, a budget and its alert, a CSV export whose sums match, an axe-core scan of every view in
 * both themes, and a screenshot of each under test-output/screenshots/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore, type CoreApp } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { generateDemoHistory } from '../../core/demo/generate.js';
import { osKeychain } from '../../core/keys/keychain.js';
import { silentLogger } from '../../core/log.js';
import { openDatabase } from '../../core/store/db.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { startOfPeriod } from '../../shared/time-range.js';
import { NO_MODEL } from '../../shared/usage.js';
import { DAY, expectedTotals, FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { csvObjects } from '../support/csv.js';
import { startPrivateSecretService, type PrivateSecretService } from '../support/secret-service.js';
import { toolAvailable, TOOLS } from '../support/tools.js';

const SERVICE = `llmeter-test-dashboard-${process.pid}`;
const SCREENSHOTS = path.resolve('test-output', 'screenshots');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TRUTH_DAYS = 7;
/** The fakes' billed cost reaches the store with at most this rounding per model (as /api/v1/metrics is held to). */
const NANO_TOLERANCE = 1000n;

// The budget below counts this month, so the truth's days must lie in it: early in a month the
// whole system (fakes, poller, budgets) runs on a clock set back to the middle of the previous one.
const realNow = Date.now();
const dayOfMonth = new Date(realNow).getUTCDate();
const clockOffsetMs = dayOfMonth > TRUTH_DAYS ? 0 : startOfPeriod(realNow, 'M') - 12 * DAY * 1000 - startOfPeriod(realNow, 'd');
const now = (): number => Date.now() + clockOffsetMs;
const NOW_SEC = Math.floor(now() / 1000);

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Parses what the dashboard shows on hover (title), e.g. "$1,234.567891234" in en-US, to nano-dollars. */
function shownNano(title: string | null): bigint {
  const nano = parseAmountToNano((title ?? '').replace(/[$,\s]/g, ''));
  if (nano === null) throw new Error(`not an amount: ${title}`);
  return nano;
}

function within(actual: bigint, expected: bigint): boolean {
  const diff = actual - expected;
  return (diff < 0n ? -diff : diff) <= NANO_TOLERANCE;
}

describe.runIf(toolAvailable(TOOLS.chromium) && toolAvailable(TOOLS.secretService))('the dashboard in Chromium against startCore and the fake providers', () => {
  let secretService: PrivateSecretService;
  let fake: ProviderFake;
  let core: CoreApp;
  let context: BrowserContext;
  let page: Page;
  let dataDir: string;
  let rendererDir: string;
  const problems: string[] = [];
  /** The fakes' billed truth per provider and model, in nano-dollars. */
  let truth: Map<string, bigint>;
  let truthTotal: bigint;

  const shoot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const open = async (route: string, heading: string) => {
    await page.goto(`${core.server.url}/#/${route}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };
  /** axe-core in the page (by evaluation, which the page's CSP does not govern): serious or critical findings. */
  const axeFindings = async (): Promise<string[]> => {
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
    });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
  };
  const waitForHistory = async () => {
    // The page polls while a provider's first fetch runs and drops the notice when data has landed.
    await expect.poll(() => page.getByText(/Fetching history/).count(), { timeout: 20_000 }).toBe(0);
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    secretService = await startPrivateSecretService();
    Object.assign(process.env, secretService.env);
    fake = await startProviderFake({ truth: generateTruth({ days: TRUTH_DAYS, models: 3, seed: 20_261_127, now: NOW_SEC }), now: NOW_SEC, credits: 120 });
    truth = new Map();
    for (const provider of PROVIDER_IDS) {
      for (const [model, totals] of Object.entries(expectedTotals(fake.truth, provider, 0, NOW_SEC + DAY))) truth.set(`${provider}|${model}`, totals.costNano);
    }
    truthTotal = [...truth.values()].reduce((a, b) => a + b, 0n);

    dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-e2e-'));
    rendererDir = path.join(dataDir, 'renderer-build');
    // The production build, as shipped: under vitest's NODE_ENV=test, Vite and the React plugin would build for development.
    const testEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: path.resolve('vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir, emptyOutDir: true } });
    } finally {
      process.env.NODE_ENV = testEnv;
    }
    const env: NodeJS.ProcessEnv = { LLMETER_UI_TOKEN: 'e2e-ui-token-0123456789abcdef', LLMETER_METRICS_TOKEN: 'e2e-metrics-token-0123456789', LLMETER_INGEST_TOKEN: 'e2e-ingest-token-0123456789' };
    for (const provider of PROVIDER_IDS) env[PROVIDERS[provider].baseUrlEnv] = fake.baseUrl(provider);
    core = await startCore({
      config: resolveConfig(env, { port: 0, dataDir }),
      env,
      log: silentLogger,
      secretStore: osKeychain(SERVICE),
      now,
      poll: { backfillDays: TRUTH_DAYS + 1 },
      dashboard: { rendererDir },
    });

    context = await chromium.launchPersistentContext(path.join(dataDir, 'chromium-profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      locale: 'en-US',
      timezoneId: 'UTC',
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await core?.close();
    await Promise.all([secretService?.stop(), fake?.close()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('first run: the dashboard URL hands over the token, and a guide shows where to create a key', async () => {
    await page.goto(core.dashboardUrl);
    expect(page.url()).toBe(`${core.server.url}/`);
    const cookies = await context.cookies(core.server.url);
    expect(cookies.find((c) => c.name === `llmeter_ui_${core.server.port}`)).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.getByRole('heading', { level: 1, name: 'Connect your first provider' }).waitFor();
    for (const provider of PROVIDER_IDS) {
      await page.getByRole('radio', { name: PROVIDERS[provider].displayName }).check();
      await expect.poll(() => page.getByRole('link', { name: PROVIDERS[provider].keyUrl.replace('https://', '') }).first().getAttribute('href')).toBe(PROVIDERS[provider].keyUrl);
    }
    await page.getByRole('radio', { name: 'OpenAI' }).check();
    await shoot('01-first-run');
    expect(await axeFindings()).toEqual([]);
  });

  it('a wrong key is refused in words and not stored; the admin key is checked, stored and never shown again', async () => {
    const field = page.getByLabel('OpenAI organization Admin API key', { exact: true });
    await field.fill(FAKE_KEYS.openai.restricted);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('OpenAI refused access (HTTP 403)').waitFor();
    expect(secretService.lookup(SERVICE, 'provider:openai')).toBeNull();

    await field.fill(FAKE_KEYS.openai.admin);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(secretService.lookup(SERVICE, 'provider:openai')).toBe(FAKE_KEYS.openai.admin);
    await waitForHistory();
    expect(await page.content()).not.toContain(FAKE_KEYS.openai.admin);
  });

  it('Providers: connect the other two, test a key, see freshness', async () => {
    await open('providers', 'Providers');
    for (const provider of ['anthropic', 'openrouter'] as const) {
      const panel = page.getByRole('article', { name: PROVIDERS[provider].displayName });
      await panel.getByLabel(`${PROVIDERS[provider].displayName} ${PROVIDERS[provider].keyName}`, { exact: true }).fill(FAKE_KEYS[provider].admin);
      await panel.getByRole('button', { name: 'Connect' }).click();
      await panel.getByText('Connected with the key in the OS keychain').waitFor();
      expect(secretService.lookup(SERVICE, `provider:${provider}`)).toBe(FAKE_KEYS[provider].admin);
    }
    await waitForHistory();
    const openai = page.getByRole('article', { name: 'OpenAI' });
    await openai.getByRole('button', { name: 'Test key' }).click();
    await openai.getByText('OpenAI accepted the key ending in').waitFor();
    await expect.poll(() => page.locator('main').getByText(/Billing data as of [A-Z][a-z]{2} \d+, \d{4}/).count()).toBe(3);
    await page.getByRole('button', { name: 'Poll now' }).click();
    await page.getByText(/OpenRouter: up to date; billing data as of/).waitFor();
    await shoot('03-providers');
  });

  it('Spend: totals and every model equal the fakes’ billed truth', async () => {
    await open('spend', 'Spend over time');
    const caption = page.locator('caption', { hasText: 'Models by spend in the range' });
    await caption.waitFor();
    expect(within(shownNano(await caption.locator('.spend-figure__total').getAttribute('title')), truthTotal), 'range total').toBe(true);

    const rows = page.locator('table:has(caption:has-text("Models by spend")) tbody tr');
    const names = new Map(PROVIDER_IDS.map((id) => [PROVIDERS[id].displayName, id]));
    const seen = new Set<string>();
    for (const row of await rows.all()) {
      const shownModel = (await row.locator('th').innerText()).trim();
      const model = shownModel === 'no model (tools, storage)' ? NO_MODEL : shownModel;
      const provider = names.get((await row.locator('td').first().innerText()).trim()) as ProviderId;
      const key = `${provider}|${model}`;
      const expected = truth.get(key) ?? 0n;
      expect(within(shownNano(await row.locator('.spend-figure__total').getAttribute('title')), expected), `${key}: expected ${formatNanoAsDecimal(expected)}`).toBe(true);
      seen.add(key);
    }
    expect([...truth.keys()].filter((key) => truth.get(key)! > 0n && !seen.has(key))).toEqual([]);

    // Hovering a bar shows the exact amounts of that bucket in the legend.
    const chart = page.locator('.spend-chart canvas').first();
    const box = (await chart.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
    await expect.poll(() => page.locator('.spend-chart .u-legend .u-value').allInnerTexts()).toContainEqual(expect.stringMatching(/^\$\d/));
    await shoot('04-spend');
    await page.getByRole('radio', { name: 'Model' }).check();
    await page.getByText('Spend by model in the range').waitFor();
    await shoot('04b-spend-by-model');
  });

  it('Budgets: create a budget, see it over, and its alerts in the history', async () => {
    await open('budgets', 'Budgets');
    await page.getByText('No budget yet.').waitFor();
    await page.getByRole('button', { name: 'New budget' }).click();
    await page.getByLabel('Name').fill('E2E monthly');
    await page.getByLabel('Amount (USD)').fill(formatNanoAsDecimal(truthTotal / 2n / 10_000_000n * 10_000_000n));
    await page.getByLabel('Alert at (% of amount)').fill('50, 80, 100');
    await page.getByRole('button', { name: 'Create budget' }).click();
    const row = page.locator('.budget-row', { hasText: 'E2E monthly' });
    await row.getByText('over budget').waitFor();
    const alertTable = page.getByRole('table', { name: 'Alerts, newest first' });
    const alerts = alertTable.locator('tbody tr');
    await expect.poll(() => alerts.count()).toBeGreaterThan(0);
    expect(await alerts.first().innerText()).toContain('E2E monthly');
    expect(await alertTable.innerText()).toContain('Crossed 100 %');
    await shoot('05-budgets');
    await open('overview', 'Overview');
    await page.getByRole('meter', { name: 'Budget E2E monthly' }).waitFor();
    await shoot('02-overview');
  });

  it('the tray popover shows the same glance without navigation', async () => {
    const popover = await context.newPage();
    try {
      await popover.setViewportSize({ width: 380, height: 560 });
      await popover.goto(`${core.server.url}/?window=popover`);
      await popover.getByRole('meter', { name: 'Budget E2E monthly' }).waitFor();
      expect(await popover.getByRole('navigation').count()).toBe(0);
      await popover.screenshot({ path: path.join(SCREENSHOTS, '08-popover.png') });
    } finally {
      await popover.close();
    }
  });

  it('Export: a CSV download whose sums equal what the dashboard shows', async () => {
    await open('export', 'Export');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export' }).click();
    const file = await (await download).path();
    const rows = csvObjects(readFileSync(file, 'utf8'));
    expect(rows.length).toBeGreaterThan(20);
    let sum = 0n;
    for (const row of rows) if (row.cost_usd !== '') sum += parseAmountToNano(row.cost_usd)!;
    expect(within(sum, truthTotal), `export ${formatNanoAsDecimal(sum)} vs truth ${formatNanoAsDecimal(truthTotal)}`).toBe(true);
    expect(new Set(rows.map((r) => r.provider))).toEqual(new Set(PROVIDER_IDS));
    await page.getByText('The download has started').waitFor();
    await shoot('06-export');
  });

  it('every view passes axe-core without serious or critical findings, in light and dark', async () => {
    const views: Array<[string, string]> = [
      ['overview', 'Overview'],
      ['spend', 'Spend over time'],
      ['providers', 'Providers'],
      ['budgets', 'Budgets'],
      ['export', 'Export'],
    ];
    const findings: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [route, heading] of views) {
        await open(route, heading);
        await page.waitForLoadState('networkidle');
        findings.push(...(await axeFindings()).map((f) => `${scheme} ${route}: ${f}`));
        if (scheme === 'dark' && (route === 'overview' || route === 'spend')) await shoot(`07-${route}-dark`);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(findings).toEqual([]);
  });

  it('`llmeter demo` data: every page says "Demo data"', async () => {
    const demoDir = path.join(dataDir, 'demo');
    const db = openDatabase(demoDir);
    generateDemoHistory(db, { days: 30, nowMs: now() });
    db.close();
    const env = { LLMETER_UI_TOKEN: 'e2e-demo-token-0123456789abcdef', LLMETER_METRICS_TOKEN: 'e2e-metrics-token-0123456789', LLMETER_INGEST_TOKEN: 'e2e-ingest-token-0123456789' };
    const demo = await startCore({ config: resolveConfig(env, { port: 0, dataDir: demoDir }), env, log: silentLogger, secretStore: null, demo: true, now, dashboard: { rendererDir } });
    const demoPage = await context.newPage();
    try {
      await demoPage.goto(demo.dashboardUrl);
      for (const [route, heading] of [['overview', 'Overview'], ['spend', 'Spend over time'], ['providers', 'Providers'], ['budgets', 'Budgets'], ['export', 'Export']]) {
        await demoPage.goto(`${demo.server.url}/#/${route}`);
        await demoPage.getByRole('heading', { level: 1, name: heading }).waitFor();
        expect(await demoPage.getByText('Demo data', { exact: true }).isVisible(), route).toBe(true);
        if (route === 'overview') await demoPage.screenshot({ path: path.join(SCREENSHOTS, '09-demo-overview.png'), fullPage: true });
      }
    } finally {
      await demoPage.close();
      await demo.close();
    }
  });

  it('the keyboard reaches every page, and nothing went wrong in the page', async () => {
    await open('overview', 'Overview');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Spend over time' }).waitFor();
    expect(problems).toEqual([]);
  });
});
