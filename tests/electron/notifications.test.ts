/**
 * Budget alerts as desktop notifications: words from alertMessage, kept referenced until clicked
 * or closed, a click opening the dashboard on that budget.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { alertMessage, type AlertNotice } from '../../shared/budget-alerts.js';
import type { BudgetStatus } from '../../shared/budgets.js';
import { FakeEvent, FakeNotification, resetFakeElectron } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { createDesktopNotifier } = await import('../../electron/main/notifications.js');

const budget: BudgetStatus = {
  id: 42,
  name: 'OpenAI monthly',
  scope: { kind: 'provider', provider: 'openai' },
  period: 'month',
  amountUsd: '50',
  thresholds: [50, 80, 100],
  periodStart: '2026-11-01T00:00:00.000Z',
  periodEnd: '2026-12-01T00:00:00.000Z',
  spentUsd: '41.5',
  estimatedUsd: '3.25',
  forecastUsd: '66.2',
  ratio: 0.83,
  level: 'warn',
  forecastToExceed: true,
};

function notice(fields: Partial<AlertNotice> = {}): AlertNotice {
  return {
    id: 9,
    budgetId: 42,
    budgetName: budget.name,
    kind: 'threshold',
    threshold: 80,
    periodStart: budget.periodStart,
    firedAt: '2026-11-19T15:30:00.000Z',
    spentUsd: '41.5',
    amountUsd: '50',
    forecastUsd: '66.2',
    estimatedUsd: '3.25',
    level: 'warn',
    budget,
    grouped: [],
    dataAsOf: '2026-11-19T14:00:00.000Z',
    ...fields,
  };
}

beforeEach(() => resetFakeElectron());

describe('the desktop notifier', () => {
  it('shows one notification per notice, titled with the budget and percentage, the body with spend, amount, forecast and estimate', async () => {
    const notifier = createDesktopNotifier({ showBudget: vi.fn() });
    await notifier.notify(notice());
    expect(FakeNotification.instances).toHaveLength(1);
    const shown = FakeNotification.instances[0]!;
    expect(shown.shown).toBe(true);
    expect(shown.options.title).toBe('OpenAI monthly: 83 % of budget used');
    expect(shown.options.body).toBe(alertMessage(notice()).body);
    expect(shown.options.body).toContain('$41.50 of $50.00 spent this month (includes $3.25 estimated');
    expect(shown.options.body).toContain('Forecast for the month: $66.20');
    expect(shown.options.urgency).toBe('normal');
    expect(notifier.channel).toBe('desktop');
  });

  it('marks an over-budget alert critical', async () => {
    await createDesktopNotifier({ showBudget: vi.fn() }).notify(notice({ level: 'over', threshold: 100 }));
    expect(FakeNotification.instances[0]!.options.urgency).toBe('critical');
  });

  it('keeps each notification referenced until it is clicked, and the click opens that budget', async () => {
    const showBudget = vi.fn();
    const notifier = createDesktopNotifier({ showBudget });
    await notifier.notify(notice());
    await notifier.notify(notice({ id: 10, threshold: 100, level: 'over' }));
    expect(notifier.live.size).toBe(2);
    FakeNotification.instances[0]!.emit('click', new FakeEvent());
    expect(showBudget).toHaveBeenCalledExactlyOnceWith(42);
    expect(notifier.live.size).toBe(1);
    expect(notifier.live.has(FakeNotification.instances[1]! as unknown as Electron.Notification)).toBe(true);
  });

  it('lets go of a notification once it is closed or failed', async () => {
    const notifier = createDesktopNotifier({ showBudget: vi.fn() });
    await notifier.notify(notice());
    await notifier.notify(notice({ id: 10 }));
    FakeNotification.instances[0]!.close();
    FakeNotification.instances[1]!.emit('failed', new FakeEvent(), 'toast rejected');
    expect(notifier.live.size).toBe(0);
  });

  it('fails with words for people where the desktop has no notifications', async () => {
    FakeNotification.supported = false;
    await expect(createDesktopNotifier({ showBudget: vi.fn() }).notify(notice())).rejects.toThrow('does not show notifications');
    expect(FakeNotification.instances).toHaveLength(0);
  });
});
