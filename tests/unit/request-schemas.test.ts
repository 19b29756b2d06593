import { describe, expect, it } from 'vitest';
import { REQUEST_SCHEMAS } from '../../core/api/request-schemas.js';

describe('updateSettings request schema', () => {
  it('keeps a partial update partial, also inside nested groups', () => {
    expect(REQUEST_SCHEMAS.updateSettings.parse({ alerts: { muted: true } })).toEqual({ alerts: { muted: true } });
    expect(REQUEST_SCHEMAS.updateSettings.parse({ ui: {} })).toEqual({ ui: {} });
    expect(REQUEST_SCHEMAS.updateSettings.parse({ launchAtLogin: true })).toEqual({ launchAtLogin: true });
  });
  it('still checks every value it is given, and unknown fields', () => {
    expect(REQUEST_SCHEMAS.updateSettings.safeParse({ alerts: { webhookUrl: 'not a url' } }).success).toBe(false);
    expect(REQUEST_SCHEMAS.updateSettings.safeParse({ pollIntervalMinutes: 0 }).success).toBe(false);
    expect(REQUEST_SCHEMAS.updateSettings.safeParse({ alerts: { sneaky: 1 } }).success).toBe(false);
    expect(REQUEST_SCHEMAS.updateSettings.safeParse({ nope: 1 }).success).toBe(false);
  });
});
