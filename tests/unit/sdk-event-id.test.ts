import { describe, expect, it } from 'vitest';
import { newEventId } from '../../sdk/event-id.js';
import { UUID_PATTERN } from '../../sdk/wire.js';

describe('SDK event ids (UUIDv7)', () => {
  it('are UUIDs of version 7 and the RFC 9562 variant, carrying the creation time in milliseconds', () => {
    const at = Date.UTC(2026, 10, 27, 15, 4, 5, 678);
    const id = newEventId(at);
    expect(id).toMatch(UUID_PATTERN);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sort by creation time across milliseconds, and do not repeat within one', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 2_000 }, (_, i) => newEventId(start + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 100; i < ids.length; i += 100) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });

  it('encode the far end of the 48-bit time field and the epoch', () => {
    expect(newEventId(0).startsWith('00000000-0000-7')).toBe(true);
    expect(newEventId(2 ** 48 - 1).startsWith('ffffffff-ffff-7')).toBe(true);
  });
});
