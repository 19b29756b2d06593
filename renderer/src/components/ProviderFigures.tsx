import type { ProviderStatus } from '../../../shared/api.js';
import { subtractUsd } from '../format.js';
import { Money, SpendFigure } from './Money.js';

/** A connected provider's spend today and this month, and its prepaid credits where it has them. */
export function ProviderFigures({ status }: { status: Pick<ProviderStatus, 'today' | 'monthToDate' | 'balance'> }) {
  return (
    <dl className="figures">
      <div>
        <dt>Today</dt>
        <dd>
          <SpendFigure amount={status.today} />
        </dd>
      </div>
      <div>
        <dt>This month</dt>
        <dd>
          <SpendFigure amount={status.monthToDate} />
        </dd>
      </div>
      {status.balance ? (
        <div>
          <dt>Credits left</dt>
          <dd>
            <Money usd={subtractUsd(status.balance.creditsUsd, status.balance.usedUsd)} />{' '}
            <span className="hint">
              of <Money usd={status.balance.creditsUsd} /> bought (billed)
            </span>
          </dd>
        </div>
      ) : null}
    </dl>
  );
}
