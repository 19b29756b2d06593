/**
 * What LLMeter remembers about a stored provider key besides the key itself: its fingerprint and
 * when the provider last accepted it. Kept in its own small file in the data folder, apart from the
 * keychain entry (which holds only the key, so `secret-tool` and Keychain Access show just that),
 * from settings (which the UI may rewrite) and from the database (which exports and backups copy).
 * Nothing here is secret; nothing about keys given through the environment is ever written.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';

/** File name of the key status inside the data folder. */
export const KEY_STATUS_FILE = 'key-status.json';

/** The most characters of a key LLMeter ever shows or writes. */
const FINGERPRINT_MAX_CHARS = 4;

/** Non-secret facts about the stored key of one provider. */
export interface KeyStatus {
  /** The key's last characters (keyFingerprint), to tell whether this status is about the key stored now. */
  fingerprint: string;
  /** ISO 8601 UTC time the provider last accepted the key. */
  validatedAt: string;
}

const keyStatusFileSchema = z.partialRecord(
  z.enum(PROVIDER_IDS),
  z.object({ fingerprint: z.string().max(FINGERPRINT_MAX_CHARS), validatedAt: z.iso.datetime() }),
);

/**
 * The last characters of a key, at most 4 and never more than an eighth of it, so that a short key
 * is not half given away. Enough for a person to tell two keys apart.
 */
export function keyFingerprint(key: string): string {
  const shown = Math.min(FINGERPRINT_MAX_CHARS, Math.floor(key.length / 8));
  return shown > 0 ? key.slice(-shown) : '';
}

/** The recorded status of every provider; a missing or unreadable file means "nothing validated". */
export function readKeyStatuses(dataDir: string): Partial<Record<ProviderId, KeyStatus>> {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, KEY_STATUS_FILE), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = keyStatusFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** Records (or, with null, forgets) the status of one provider's stored key. */
export function writeKeyStatus(dataDir: string, provider: ProviderId, status: KeyStatus | null): void {
  const statuses = readKeyStatuses(dataDir);
  if (status) statuses[provider] = status;
  else delete statuses[provider];
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, KEY_STATUS_FILE);
  // Write-then-rename, so a crash mid-write never leaves half a file behind.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(statuses, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
