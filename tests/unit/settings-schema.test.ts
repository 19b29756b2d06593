import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, settingsSchema } from '../../shared/settings.js';

describe('settings schema', () => {
  it('fills every default from an empty object', () => {
    expect(DEFAULT_SETTINGS.pollIntervalMinutes).toBe(15);
    expect(DEFAULT_SETTINGS.alerts).toEqual({ muted: false, webhookUrl: '' });
    expect(DEFAULT_SETTINGS.budgets.defaultThresholds).toEqual([50, 80, 100]);
  });
  it('rejects wrong types', () => {
    expect(settingsSchema.safeParse({ port: 'x' }).success).toBe(false);
  });
});
