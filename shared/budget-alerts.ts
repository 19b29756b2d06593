/**
 * What a budget alert says, in one place, so the desktop notification, the log line and the
 * webhook message read the same.
 */
import type { AlertRecord, BudgetLevel, BudgetPeriod, BudgetStatus } from './budgets.js';
import { parseAmountToNano } from './money.js';

/**
 * One notification to deliver. Several alerts of one budget recorded by the same evaluation
 * (a backfill crossing 50 %, 80 % and 100 % at once) make ONE notification: the lead alert is the
 * highest threshold crossed (a forecast alert leads only when no threshold was crossed), and the
 * others ride along in `grouped`, named in the body. Every alert stays recorded on its own.
 */
export interface AlertNotice extends AlertRecord {
  level: BudgetLevel;
  /** The budget as it stood when the alert fired; `budget.id` is the click-through target. */
  budget: BudgetStatus;
  /** Other alerts of the same budget delivered by this notification, highest threshold first. */
  grouped: AlertRecord[];
  /** Oldest last successful poll among the providers in scope (ISO 8601), null when unknown. */
  dataAsOf: string | null;
}

/** Title and body of an alert, as plain text. */
export interface AlertMessage {
  title: string;
  body: string;
}

const PERIOD_NOUN: Record<BudgetPeriod, string> = { day: 'today', week: 'this week', month: 'this month' };
const PERIOD_WORD: Record<BudgetPeriod, string> = { day: 'day', week: 'week', month: 'month' };

/**
 * Dollars rounded to cents for people: "$1,234.57". An amount above zero that rounds to nothing
 * reads "<$0.01", never "$0.00". Exact decimal strings in, no float on the way.
 */
export function formatUsd(decimalUsd: string): string {
  const nano = parseAmountToNano(decimalUsd) ?? 0n;
  const negative = nano < 0n;
  const abs = negative ? -nano : nano;
  const cents = (abs + 5_000_000n) / 10_000_000n;
  if (cents === 0n && abs > 0n) return negative ? '-<$0.01' : '<$0.01';
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}$${whole}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/** Whole percent of `part` over `whole`, rounded down so 99.9 % never reads as 100 %. */
function floorPercent(partUsd: string, wholeUsd: string): number {
  const part = parseAmountToNano(partUsd) ?? 0n;
  const whole = parseAmountToNano(wholeUsd) ?? 0n;
  return whole > 0n ? Number((part * 100n) / whole) : 0;
}

/**
 * Title (budget name and percentage) and body (spend of amount, forecast, estimated share, data
 * freshness, other thresholds passed at the same time) of a notification.
 */
export function alertMessage(notice: AlertNotice): AlertMessage {
  const name = notice.budget.name;
  const period = notice.budget.period;
  const spentPercent = floorPercent(notice.spentUsd, notice.amountUsd);
  const title =
    notice.kind === 'forecast'
      ? `${name}: forecast ${floorPercent(notice.forecastUsd, notice.amountUsd)} % of budget`
      : notice.level === 'over'
        ? `${name}: over budget, ${spentPercent} % used`
        : `${name}: ${spentPercent} % of budget used`;

  const estimated = (parseAmountToNano(notice.estimatedUsd) ?? 0n) > 0n ? ` (includes ${formatUsd(notice.estimatedUsd)} estimated, not billed yet)` : ' (all billed)';
  const lines = [
    `${formatUsd(notice.spentUsd)} of ${formatUsd(notice.amountUsd)} spent ${PERIOD_NOUN[period]}${estimated}.`,
    `Forecast for the ${PERIOD_WORD[period]}: ${formatUsd(notice.forecastUsd)}.`,
  ];
  const passed = notice.grouped.filter((a) => a.kind === 'threshold').map((a) => a.threshold).sort((a, b) => a - b).map((t) => `${t} %`);
  if (passed.length) lines.push(`Also passed ${passed.join(', ')}.`);
  if (notice.kind === 'threshold' && notice.grouped.some((a) => a.kind === 'forecast')) lines.push('On pace to exceed the budget.');
  if (notice.dataAsOf) lines.push(`Data as of ${notice.dataAsOf.slice(0, 10)} ${notice.dataAsOf.slice(11, 16)} UTC.`);
  return { title, body: lines.join(' ') };
}
