import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh random token (URL-safe, 256 bits). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Compares a presented token with the expected one in constant time: both are hashed first so
 * neither the content nor the length leaks through timing.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The Host header values this server answers to: its loopback names with its port, the bound
 * address when it is a specific one, and any extra names the operator allowed (LLMETER_ALLOWED_HOSTS).
 * Anything else is a DNS-rebinding attempt or a misdirected request.
 */
export function allowedHostHeaders(bindHost: string, port: number, extra: readonly string[]): Set<string> {
  const names = new Set<string>(LOOPBACK_NAMES);
  if (bindHost !== '0.0.0.0' && bindHost !== '::' && bindHost !== '') names.add(bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost);
  for (const name of extra) if (name.trim()) names.add(name.trim().toLowerCase());
  const allowed = new Set<string>();
  for (const name of names) {
    allowed.add(`${name}:${port}`);
    if (port === 80) allowed.add(name);
  }
  return allowed;
}
