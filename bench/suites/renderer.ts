/**
 * Item 7: the dashboard's production bundle (sizes raw and gzip) and the time to its first chart in
 * headless Chromium, served by `llmeter serve` from a year of data: the Spend view as it opens (a
 * fresh browser profile each run, so nothing is cached), and the same view switched to a year by
 * model.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { openDatabase } from '../../core/store/db.js';
import { ensureDataset, workCopy } from '../datasets.js';
import { startServe, TOKENS } from '../server.js';
import { currentLoad, repeatTimed, type Timing } from '../stats.js';

export interface RendererResult {
  assets: Array<{ file: string; bytes: number; gzipBytes: number }>;
  totalBytes: number;
  totalGzipBytes: number;
  dataset: string;
  rows: number;
  /** Navigation to the Spend view (30 days, by provider) until its chart is drawn, cold. */
  firstChart: Timing;
  /** The Spend view switched to a year by model until the new chart is drawn. */
  yearByModel: Timing;
  load: number;
}

/** Where the benchmark's build of the renderer goes: the compiled core serves it from there (bench/tsconfig.json). */
const RENDERER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'renderer');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function buildRenderer(): Promise<RendererResult['assets']> {
  // The production build, as shipped.
  const mode = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.resolve('vite.config.ts'), logLevel: 'warn', build: { outDir: RENDERER_DIR, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = mode;
  }
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(js|css|html)$/.test(entry)) files.push(full);
    }
  };
  walk(RENDERER_DIR);
  return files.map((file) => {
    const content = readFileSync(file);
    return { file: path.relative(RENDERER_DIR, file), bytes: content.length, gzipBytes: gzipSync(content).length };
  });
}

async function firstChartMs(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${url}/?token=${TOKENS.ui}#/spend`);
    await page.locator('.spend-chart canvas').first().waitFor({ timeout: 60_000 });
    return performance.now() - started;
  } finally {
    await context.close();
  }
}

async function yearByModelMs(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${url}/?token=${TOKENS.ui}#/spend`);
    await page.locator('.spend-chart canvas').first().waitFor({ timeout: 60_000 });
    await page.getByLabel('Range').selectOption('custom');
    // The server answers one request at a time: the timed answer must not queue behind the answers
    // to choosing "custom" and "Model", which the old chart's canvas does not wait for.
    const byModel = page.waitForResponse((response) => response.url().endsWith('/getSpendSeries') && (response.request().postData() ?? '').includes('"groupBy":"model"'), { timeout: 60_000 });
    await page.getByRole('radio', { name: 'Model' }).check();
    await byModel;
    await page.locator('.spend-chart canvas').first().waitFor({ timeout: 60_000 });
    const yearAgo = new Date(Date.now() - 364 * 86_400_000).toISOString().slice(0, 10);
    const started = performance.now();
    const answered = page.waitForResponse((response) => response.url().endsWith('/getSpendSeries') && (response.request().postData() ?? '').includes(yearAgo), { timeout: 60_000 });
    await page.getByLabel('From (UTC)').fill(yearAgo);
    await answered;
    await page.locator('.spend-chart canvas').first().waitFor({ timeout: 60_000 });
    // Two frames: React commits the new series and uPlot draws them.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    return performance.now() - started;
  } finally {
    await context.close();
  }
}

export async function benchRenderer(size: string, options: { runs: number; log: (line: string) => void }): Promise<RendererResult> {
  const assets = await buildRenderer();
  const totalBytes = assets.reduce((sum, a) => sum + a.bytes, 0);
  const totalGzipBytes = assets.reduce((sum, a) => sum + a.gzipBytes, 0);
  options.log(`  renderer bundle: ${(totalBytes / 1024).toFixed(0)} KiB, ${(totalGzipBytes / 1024).toFixed(1)} KiB gzip (${assets.map((a) => `${a.file} ${(a.gzipBytes / 1024).toFixed(1)} KiB`).join(', ')})`);
  const { dir, info } = ensureDataset(size, options.log);
  const work = workCopy(dir, `renderer-${size}`);
  openDatabase(work).close();
  const server = await startServe(work);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const load = currentLoad();
    const firstChart = await repeatTimed(() => firstChartMs(browser, server.url), { warmup: 1, runs: options.runs });
    const yearByModel = await repeatTimed(() => yearByModelMs(browser, server.url), { warmup: 1, runs: options.runs });
    options.log(`  first chart on ${size}: p50 ${firstChart.medianMs} ms, p99 ${firstChart.p99Ms} ms; a year by model: p50 ${yearByModel.medianMs} ms`);
    return { assets, totalBytes, totalGzipBytes, dataset: size, rows: info.rows, firstChart, yearByModel, load };
  } finally {
    await browser.close();
    await server.stop();
  }
}
