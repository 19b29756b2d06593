import { z } from 'zod';

/**
 * The one settings schema, shared by the desktop app (electron-store) and headless mode (conf).
 * Bump SETTINGS_VERSION and add a migration in core/settings when a field changes meaning.
 */
export const SETTINGS_VERSION = 1;

export const settingsSchema = z.object({
  /** Minutes between provider polls. */
  pollIntervalMinutes: z.number().int().min(1).max(1440).default(15),
  /** Days fetched on a provider's first poll. */
  backfillDays: z.number().int().min(1).max(3660).default(30),
  /** HTTP port (LLMETER_PORT and --port win). */
  port: z.number().int().min(0).max(65535).default(9742),
  launchAtLogin: z.boolean().default(false),
  pollingPaused: z.boolean().default(false),
  budgets: z.object({ defaultThresholds: z.array(z.number().positive().max(1000)).min(1).max(10).default([50, 80, 100]) }).prefault({}),
  alerts: z
    .object({
      /** Mute desktop notifications ("do not disturb"); alerts are still recorded. */
      muted: z.boolean().default(false),
      /** Slack-compatible webhook for headless alerts; empty = off. */
      webhookUrl: z.string().url().or(z.literal('')).default(''),
    })
    .prefault({}),
  sdk: z.object({ customerCardinalityCap: z.number().int().min(1).max(10_000).default(100) }).prefault({}),
  ui: z.object({ theme: z.enum(['system', 'light', 'dark']).default('system') }).prefault({}),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Defaults for every field. */
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});
