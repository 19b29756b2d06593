import type { ReactNode } from 'react';

/** The header of a column of numbers, aligned with them. */
export function NumberHeader({ children }: { children: ReactNode }) {
  return (
    <th scope="col" className="num">
      {children}
    </th>
  );
}
