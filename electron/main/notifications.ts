/**
 * Budget alerts as desktop notifications, sent from the main process where the alerts are
 * detected. The words come from alertMessage (shared with the log line and the webhook); muting is
 * decided by the budget alerter, which does not call a notifier for a muted alert.
 */
import { Notification } from 'electron';
import type { Notifier } from '../../core/budgets/notifiers.js';
import { alertMessage } from '../../shared/budget-alerts.js';

export interface DesktopNotifierOptions {
  /** Opens the dashboard on this budget (the notification was clicked). */
  showBudget(budgetId: number): void;
}

/** The desktop Notifier, plus the notifications still on screen. */
export interface DesktopNotifier extends Notifier {
  /**
   * Notifications shown and not yet clicked or closed. Holding them here is what keeps their
   * click handlers alive: an unreferenced Notification can be garbage-collected while it is still
   * on screen, and its click is then silently lost (electron/electron#16922).
   */
  readonly live: ReadonlySet<Notification>;
}

/** Creates the Notifier that shows budget alerts with Electron's Notification. */
export function createDesktopNotifier(options: DesktopNotifierOptions): DesktopNotifier {
  const live = new Set<Notification>();
  return {
    channel: 'desktop',
    live,
    notify(notice) {
      if (!Notification.isSupported()) {
        return Promise.reject(new Error('this desktop does not show notifications; the alert is recorded and listed in the dashboard'));
      }
      const { title, body } = alertMessage(notice);
      const notification = new Notification({ title, body, urgency: notice.level === 'over' ? 'critical' : 'normal' });
      const release = (): void => void live.delete(notification);
      notification.on('click', () => {
        release();
        options.showBudget(notice.budget.id);
      });
      notification.on('close', release);
      notification.on('failed', release);
      live.add(notification);
      notification.show();
      return Promise.resolve();
    },
  };
}
