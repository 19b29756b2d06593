import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DB_FILE } from '../core/store/db.js';
import { DATASETS, generateDataset, GENERATOR_VERSION, type DatasetInfo } from './generate.js';

/** Where generated datasets and scratch copies live (git-ignored). */
export const DATA_ROOT = path.resolve('bench', 'data');
const DATASET_ROOT = path.join(DATA_ROOT, 'datasets');
const WORK_ROOT = path.join(DATA_ROOT, 'work');

/**
 * The dataset `name` (see DATASETS), generated on first use and kept for the rest of the UTC day:
 * its history ends at the time it was generated, so that relative windows (`now-1h`, `now/M`)
 * find the data they would on a live install. Returns the folder holding the pristine file.
 */
export function ensureDataset(name: string, log: (line: string) => void): { dir: string; info: DatasetInfo } {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown dataset "${name}"; use one of ${Object.keys(DATASETS).join(', ')}`);
  const day = new Date().toISOString().slice(0, 10);
  const key = `${name}-v${GENERATOR_VERSION}-${day}`;
  const dir = path.join(DATASET_ROOT, key);
  const metaFile = path.join(dir, 'dataset.json');
  if (existsSync(metaFile)) {
    const cached = JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetInfo;
    // A preset whose parameters changed since the copy was made is stale like another day's.
    if (JSON.stringify(cached.spec) === JSON.stringify(spec)) return { dir, info: cached };
  }
  // Older copies of this size are stale (another day, generator version or preset): free their space first.
  if (existsSync(DATASET_ROOT)) for (const entry of readdirSync(DATASET_ROOT)) if (entry.startsWith(`${name}-`)) rmSync(path.join(DATASET_ROOT, entry), { recursive: true, force: true });
  log(`generating dataset ${name} (about ${spec.targetRows.toLocaleString('en-US')} usage rows)…`);
  const info = generateDataset(dir, spec, Date.now());
  writeFileSync(metaFile, JSON.stringify(info, null, 2));
  log(`  ${info.rows.toLocaleString('en-US')} rows, ${info.models} models, ${info.series} series in ${(info.generateMs / 1000).toFixed(1)} s (${Math.round(info.rows / (info.generateMs / 1000)).toLocaleString('en-US')} rows/s), ${(info.fileBytes / 1e6).toFixed(0)} MB`);
  return { dir, info };
}

/**
 * A scratch data folder named `label` holding a fresh copy of the dataset's file, for a run that
 * opens it with the app (which migrates it) or writes to it; the pristine file stays as generated.
 */
export function workCopy(datasetDir: string, label: string): string {
  const dir = path.join(WORK_ROOT, label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(datasetDir, DB_FILE), path.join(dir, DB_FILE));
  return dir;
}

/** An empty scratch data folder named `label`. */
export function emptyWorkDir(label: string): string {
  const dir = path.join(WORK_ROOT, label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
