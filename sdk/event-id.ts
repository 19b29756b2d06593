/**
 * Event ids as the SDK makes them: UUIDv7 (RFC 9562 §5.7), a 48-bit Unix millisecond timestamp
 * followed by 74 random bits. The app keeps every id it has seen for 30 days to count a retried
 * batch once; ids that grow with time land at the end of that index instead of at a random page
 * each, which measured ~8.5 µs → ~0.5 µs of commit per event on a million-row database. The app
 * accepts any UUID, so events from older SDKs (random v4 ids) still count.
 */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A new time-ordered event id (UUIDv7) for an event created at `nowMs`. */
export function newEventId(nowMs: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let ms = Math.max(0, Math.floor(nowMs));
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10xx
  let text = '';
  for (let i = 0; i < 16; i++) text += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[bytes[i]!];
  return text;
}
