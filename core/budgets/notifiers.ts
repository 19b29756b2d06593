/**
 * How alerts reach people. A Notifier delivers one notice; the evaluation records the outcome.
 * Headless mode uses a log line plus an optional Slack-compatible webhook; the desktop app adds
 * its own Notifier (Electron `Notification`) built on the same interface and `alertMessage`.
 */
import { alertMessage, type AlertNotice } from '../../shared/budget-alerts.js';
import { registerSecret, type Logger } from '../log.js';

export type { AlertNotice } from '../../shared/budget-alerts.js';

/**
 * One delivery channel. `notify` resolves once the notice was delivered and rejects with a
 * message for people when it could not be; it must not throw synchronously.
 *
 * For the desktop implementation: `alertMessage(notice)` gives the title (budget name and
 * percentage) and body (spend of amount, forecast, "includes $X estimated", data freshness);
 * `notice.budget.id` is the budget to show on click; `notice.level` ('over' | 'warn' | 'ok')
 * can pick the urgency.
 */
export interface Notifier {
  /** Names the channel in delivery errors and logs: 'log', 'webhook', 'desktop'. */
  readonly channel: string;
  notify(notice: AlertNotice): Promise<void>;
}

/** Headless delivery: one log line per notice, warn level when over budget. */
export function logNotifier(log: Logger): Notifier {
  return {
    channel: 'log',
    notify(notice) {
      const { title, body } = alertMessage(notice);
      const fields = { budgetId: notice.budgetId, kind: notice.kind, threshold: notice.threshold, alertLevel: notice.level, body };
      if (notice.level === 'over') log.warn(title, fields);
      else log.info(title, fields);
      return Promise.resolve();
    },
  };
}

/** Tuning of the webhook notifier; production defaults for every field. */
export interface WebhookOptions {
  /** The webhook URL, read at each delivery so a settings change applies at once; '' = off. */
  url: () => string;
  /** Per attempt. Default 5 000. */
  timeoutMs?: number;
  /** Attempts in all, the first included. Default 3. */
  attempts?: number;
  /** Wait before the first retry; doubles per retry. Default 1 000. */
  backoffMs?: number;
  /** Ceiling for a server's Retry-After. Default 30 000. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Slack mrkdwn treats these three as control characters. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The body of a webhook post: Slack's `{text}` (Mattermost, Rocket.Chat and others accept it too). */
export function webhookPayload(notice: AlertNotice): { text: string } {
  const { title, body } = alertMessage(notice);
  return { text: `*${escapeSlack(title)}*\n${escapeSlack(body)}` };
}

/** Where a webhook points, without its path: Slack's path is the secret. */
function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

/**
 * POSTs each notice as Slack-compatible JSON. Network errors, timeouts, 429 and 5xx are retried
 * with exponential backoff (honouring Retry-After up to a ceiling); other answers fail at once.
 * Redirects are not followed. Errors name the host, never the URL, whose path is a credential.
 */
export function webhookNotifier(options: WebhookOptions): Notifier {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoffMs = options.backoffMs ?? 1_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  return {
    channel: 'webhook',
    async notify(notice) {
      const url = options.url().trim();
      if (!url) return;
      registerSecret(url);
      const host = webhookHost(url);
      const body = JSON.stringify(webhookPayload(notice));
      let failure: AttemptFailure = { reason: 'was not tried', retry: false };
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const outcome = await postOnce(url, body, timeoutMs);
        if (outcome === 'ok') return;
        failure = outcome;
        if (!failure.retry) throw new Error(`The alert webhook at ${host} ${failure.reason}; check the webhook URL in the settings (it may have been revoked).`);
        if (attempt < attempts) await sleep(failure.retryAfterMs === undefined ? backoffMs * 2 ** (attempt - 1) : Math.min(failure.retryAfterMs, maxRetryAfterMs));
      }
      throw new Error(`The alert webhook at ${host} ${failure.reason} (tried ${attempts} times); the alert is recorded and listed by \`npx llmeter alerts\`.`);
    },
  };
}

/** Why one post failed, whether trying again may help, and how long the server asked to wait. */
interface AttemptFailure {
  reason: string;
  retry: boolean;
  retryAfterMs?: number;
}

async function postOnce(url: string, body: string, timeoutMs: number): Promise<'ok' | AttemptFailure> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return { reason: timedOut ? `did not answer within ${timeoutMs / 1000} s` : `could not be reached (${causeOf(err)})`, retry: true };
  }
  await response.body?.cancel();
  if (response.status >= 200 && response.status < 300) return 'ok';
  const failure: AttemptFailure = { reason: `answered HTTP ${response.status}`, retry: response.status === 429 || response.status >= 500 };
  const retryAfterSec = Number(response.headers.get('retry-after'));
  if (retryAfterSec > 0) failure.retryAfterMs = retryAfterSec * 1000;
  return failure;
}

/** The network-level reason behind a fetch failure ("ECONNREFUSED"), without the URL. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Delivers through every channel at once; one channel failing never stops the others. Rejects
 * when any failed, naming each failed channel and why.
 */
export function compositeNotifier(notifiers: readonly Notifier[]): Notifier {
  return {
    channel: notifiers.map((n) => n.channel).join('+'),
    async notify(notice) {
      const results = await Promise.allSettled(notifiers.map((n) => n.notify(notice)));
      const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [`${notifiers[i]!.channel}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`] : []));
      if (failures.length) throw new Error(failures.join('; '));
    },
  };
}

/** Headless delivery: a log line, and the webhook when one is set in the settings. */
export function headlessNotifier(log: Logger, webhookUrl: () => string): Notifier {
  return compositeNotifier([logNotifier(log), webhookNotifier({ url: webhookUrl })]);
}
