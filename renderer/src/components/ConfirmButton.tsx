import { useState, type ReactNode } from 'react';

/**
 * A destructive action that takes a second click: the danger button first, then the question with
 * the confirming button and Cancel. `onConfirm` gets `close` to put the question away once the
 * action has succeeded; after a failure the question stays, so the person can try again.
 */
export function ConfirmButton({
  children,
  question,
  groupLabel,
  confirmLabel,
  busy = false,
  onConfirm,
}: {
  /** Content of the first button. */
  children: ReactNode;
  question: ReactNode;
  /** Accessible name of the question with its buttons. */
  groupLabel: string;
  confirmLabel: string;
  /** Disables the confirming button while the action runs. */
  busy?: boolean;
  onConfirm: (close: () => void) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const close = () => setConfirming(false);
  if (!confirming) {
    return (
      <button type="button" className="button button--danger" onClick={() => setConfirming(true)}>
        {children}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={groupLabel}>
      <span>{question}</span>
      <button type="button" className="button button--danger" disabled={busy} onClick={() => onConfirm(close)}>
        {confirmLabel}
      </button>
      <button type="button" className="button" onClick={close}>
        Cancel
      </button>
    </span>
  );
}
