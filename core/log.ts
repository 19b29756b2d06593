/** Structured, one-JSON-object-per-line logging that never prints a secret. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** The logging surface every core module takes. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secrets = new Set<string>();
// Anything shaped like a provider key is masked even if it was never registered.
const KEY_SHAPE = /\b(sk-[A-Za-z0-9_-]{2})[A-Za-z0-9_-]{8,}/g;

/** Registers a secret (an admin key, a token) so that no log line can contain it. */
export function registerSecret(secret: string): void {
  if (secret.length >= 8) secrets.add(secret);
}

/** Replaces every registered secret and every key-shaped string in `text`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out.replace(KEY_SHAPE, '$1…[redacted]');
}

/** A logger writing JSON lines to `write` (stderr by default) at `level` and above. */
export function createLogger(options: { level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    const entry = { time: new Date().toISOString(), level, msg: message, ...fields };
    write(`${redact(JSON.stringify(entry, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)))}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything, for tests and one-shot commands that print their own output. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
