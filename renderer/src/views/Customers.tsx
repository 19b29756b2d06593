import { useState } from 'react';
import type { CustomerTotals } from '../../../shared/api.js';
import { useApiData } from '../api/context.js';
import { Money } from '../components/Money.js';
import { RangePicker } from '../components/RangePicker.js';
import { DataState, Empty } from '../components/Status.js';
import { NumberHeader } from '../components/Table.js';
import { formatCount } from '../format.js';
import { defaultRange, rangeQuery, type RangeChoice } from '../range.js';

/** Spend per customer, from the SDK's per-request attribution (estimates from token counts × price). */
export function Customers() {
  const [range, setRange] = useState<RangeChoice>(() => defaultRange());
  const query = rangeQuery(range);
  const customers = useApiData((api) => api.getCustomers({ ...query, limit: 100 }), JSON.stringify(query));
  return (
    <section aria-labelledby="customers-title">
      <header className="page-header">
        <h1 id="customers-title">Customers</h1>
        <p className="page-header__meta">From the requests your code reported through the LLMeter SDK: these amounts are estimated from tokens × list price, not billed.</p>
      </header>
      <div className="toolbar">
        <RangePicker value={range} onChange={setRange} />
      </div>
      <DataState loaded={customers} what="customers">
        {(list) => (list.length === 0 ? <Empty title="No customer activity in this range." /> : <CustomerTable customers={list} />)}
      </DataState>
    </section>
  );
}

/** How a customer id reads: the SDK's placeholders get words. */
export function customerLabel(customerId: string): string {
  if (customerId === '') return 'no customer named';
  if (customerId === 'other') return 'all other customers (beyond the cardinality cap)';
  return customerId;
}

function CustomerTable({ customers }: { customers: CustomerTotals[] }) {
  return (
    <div className="table-scroll">
      <table className="data-table">
        <caption>Customers by estimated spend</caption>
        <thead>
          <tr>
            <th scope="col">Customer</th>
            <NumberHeader>Spend (estimated)</NumberHeader>
            <NumberHeader>Requests</NumberHeader>
            <NumberHeader>Input tokens</NumberHeader>
            <NumberHeader>Output tokens</NumberHeader>
          </tr>
        </thead>
        <tbody>
          {customers.map((c) => (
            <tr key={c.customerId}>
              <th scope="row">{customerLabel(c.customerId)}</th>
              <td className="num">
                <Money usd={c.costUsd} />
              </td>
              <td className="num">{formatCount(c.requests)}</td>
              <td className="num">{formatCount(c.inputTokens)}</td>
              <td className="num">{formatCount(c.outputTokens)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
