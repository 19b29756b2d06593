import type { BudgetStatus } from '../../../shared/budgets.js';
import { formatPercent, formatUsd } from '../format.js';
import { Money } from './Money.js';

const LEVEL_WORDS: Record<BudgetStatus['level'], string> = { ok: 'on track', warn: 'warning', over: 'over budget' };

/** Spent against the amount, with the forecast marked; colour and words both say the level. */
export function BudgetBar({ budget }: { budget: BudgetStatus }) {
  const amount = Number(budget.amountUsd);
  const forecastRatio = amount > 0 ? Number(budget.forecastUsd) / amount : 0;
  const filled = Math.min(budget.ratio, 1) * 100;
  const forecastAt = Math.min(forecastRatio, 1) * 100;
  const text = `${formatUsd(budget.spentUsd)} of ${formatUsd(budget.amountUsd)} spent (${formatPercent(budget.ratio)}), ${LEVEL_WORDS[budget.level]}; forecast ${formatUsd(budget.forecastUsd)} by the end of the period`;
  return (
    <div
      className="budget-bar"
      role="meter"
      aria-label={`Budget ${budget.name}`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(budget.ratio * 100)}
      aria-valuetext={text}
      title={text}
    >
      <div className={`budget-bar__fill budget-bar__fill--${budget.level}`} style={{ width: `${filled}%` }} />
      {forecastRatio > budget.ratio ? <div className={`budget-bar__forecast${budget.forecastToExceed ? ' budget-bar__forecast--exceeds' : ''}`} style={{ left: `calc(${forecastAt}% - 1px)` }} /> : null}
    </div>
  );
}

/** The level in words, for places where colour alone would not do. */
export function BudgetLevel({ budget }: { budget: BudgetStatus }) {
  return (
    <span className={`level level--${budget.level}`}>
      {LEVEL_WORDS[budget.level]}
      {budget.forecastToExceed && budget.level !== 'over' ? ', forecast to exceed' : ''}
    </span>
  );
}

/** A budget's name, spent of amount and level in words, over its bar. */
export function BudgetStanding({ budget }: { budget: BudgetStatus }) {
  return (
    <>
      <div className="budget-row__head">
        <span className="budget-row__name">{budget.name}</span>
        <span className="budget-row__figures">
          <Money usd={budget.spentUsd} /> of <Money usd={budget.amountUsd} /> · <BudgetLevel budget={budget} />
        </span>
      </div>
      <BudgetBar budget={budget} />
    </>
  );
}
