import type { RangeQuery } from '../../shared/api.js';

/** The range choices of the spend and export views. */
export const RANGE_PRESETS = [
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: '90d', label: 'Last 90 days' },
  { id: 'mtd', label: 'Month to date' },
  { id: 'custom', label: 'Custom' },
] as const;

export type RangePreset = (typeof RANGE_PRESETS)[number]['id'];

/** A chosen range: a preset, or custom UTC dates (YYYY-MM-DD, both included). */
export interface RangeChoice {
  preset: RangePreset;
  fromDate: string;
  toDate: string;
}

const PRESET_FROM: Record<Exclude<RangePreset, 'custom'>, string> = {
  // "Last 7 days" includes today, so it starts six days before today's start.
  '7d': 'now/d-6d',
  '30d': 'now/d-29d',
  '90d': 'now/d-89d',
  mtd: 'now/M',
};

/** The from/to of a choice in the API's grammar (shared/time-range.ts). */
export function rangeQuery(choice: RangeChoice): Required<Pick<RangeQuery, 'from' | 'to'>> {
  if (choice.preset === 'custom') return { from: choice.fromDate, to: choice.toDate };
  return { from: PRESET_FROM[choice.preset], to: 'now' };
}

/** A date as YYYY-MM-DD in UTC, for date inputs. */
export function utcDateInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The starting choice: the last 30 days, with custom dates prefilled to the same span. */
export function defaultRange(nowMs = Date.now()): RangeChoice {
  return { preset: '30d', fromDate: utcDateInput(nowMs - 29 * 86_400_000), toDate: utcDateInput(nowMs) };
}
