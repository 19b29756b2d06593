import type { ReactNode } from 'react';

/** A loading placeholder that screen readers announce. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** An empty state: what is missing and what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty__title">{title}</p>
      {children ? <div className="empty__body">{children}</div> : null}
    </div>
  );
}

/** A message that needs attention (an error in words a person can act on), or a confirmation. */
export function Notice({ kind, children }: { kind: 'error' | 'warning' | 'success' | 'info'; children: ReactNode }) {
  return (
    <div className={`notice notice--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** Loading, error or content: the three states every data view has. */
export function DataState<T>({ loaded, what, children }: { loaded: { data: T | undefined; error: string | null }; what: string; children: (data: T) => ReactNode }) {
  if (loaded.data === undefined) {
    if (loaded.error) return <Notice kind="error">Could not load {what}: {loaded.error}</Notice>;
    return <Loading what={what} />;
  }
  return (
    <>
      {loaded.error ? <Notice kind="error">Could not refresh {what}: {loaded.error}</Notice> : null}
      {children(loaded.data)}
    </>
  );
}
