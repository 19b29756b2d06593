import type { SpendAmount } from '../../../shared/api.js';
import { formatUsd, formatUsdExact } from '../format.js';

/** An amount in the user's currency format; hovering shows the exact value. */
export function Money({ usd, className }: { usd: string; className?: string }) {
  return (
    <span className={className ? `money ${className}` : 'money'} title={formatUsdExact(usd)}>
      {formatUsd(usd)}
    </span>
  );
}

/** A total with its billed and estimated parts named, as every amount must say which it is. */
export function SpendFigure({ amount, size = 'normal' }: { amount: SpendAmount; size?: 'large' | 'normal' }) {
  const estimatedOnly = amount.billedUsd === '0' && amount.estimatedUsd !== '0';
  const billedOnly = amount.estimatedUsd === '0';
  return (
    <span className={`spend-figure spend-figure--${size}`}>
      <Money usd={amount.totalUsd} className="spend-figure__total" />
      <span className="spend-figure__parts">
        {amount.totalUsd === '0' ? (
          'nothing billed or estimated'
        ) : billedOnly ? (
          <span className="tag tag--billed">billed</span>
        ) : estimatedOnly ? (
          <span className="tag tag--estimated">estimated</span>
        ) : (
          <>
            <span className="tag tag--billed">billed</span> <Money usd={amount.billedUsd} /> <span className="tag tag--estimated">estimated</span> <Money usd={amount.estimatedUsd} />
          </>
        )}
      </span>
    </span>
  );
}
