import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { LlmeterApi } from '../../../shared/api.js';
import type { LlmeterBridge } from '../../../shared/ipc.js';

const ApiContext = createContext<LlmeterApi | null>(null);
/** Bumped after every change the user makes and on a timer, so every view refetches together. */
const RefreshContext = createContext<{ generation: number; refresh: () => void }>({ generation: 0, refresh: () => undefined });

/** How often views refetch on their own: polls land in the background. */
const AUTO_REFRESH_MS = 60_000;

/**
 * Provides the API and a shared refresh signal to the tree. Views refetch on a timer, and at once
 * when the desktop app pushes `dataChanged` (a poll or an SDK batch landed); a clicked budget
 * notification (`showBudget`) opens the budgets page.
 */
export function ApiProvider({ api, on = null, children, autoRefreshMs = AUTO_REFRESH_MS }: { api: LlmeterApi; on?: LlmeterBridge['on'] | null; children: ReactNode; autoRefreshMs?: number }) {
  const [generation, setGeneration] = useState(0);
  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  useEffect(() => {
    if (autoRefreshMs <= 0) return undefined;
    const timer = setInterval(refresh, autoRefreshMs);
    return () => clearInterval(timer);
  }, [autoRefreshMs, refresh]);
  useEffect(() => {
    if (!on) return undefined;
    const stopData = on('dataChanged', refresh);
    const stopBudget = on('showBudget', () => {
      window.location.hash = '#/budgets';
    });
    return () => {
      stopData();
      stopBudget();
    };
  }, [on, refresh]);
  return (
    <ApiContext.Provider value={api}>
      <RefreshContext.Provider value={{ generation, refresh }}>{children}</RefreshContext.Provider>
    </ApiContext.Provider>
  );
}

/** The typed API of the app. */
export function useApi(): LlmeterApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}

/** Asks every view to refetch (after a change the user made). */
export function useRefresh(): () => void {
  return useContext(RefreshContext).refresh;
}

/** What a view shows while its data loads, after it failed, and once it is there. */
export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data through the API, again whenever `key` changes or a refresh is asked for. The last
 * data stays on screen while a refetch runs, so numbers do not flicker; a stale answer that
 * arrives after a newer request is dropped.
 */
export function useApiData<T>(load: (api: LlmeterApi) => Promise<T>, key: string): Loaded<T> {
  const api = useApi();
  const { generation } = useContext(RefreshContext);
  const [local, setLocal] = useState(0);
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(api).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (err: unknown) => current && setState((s) => ({ data: s.data, error: err instanceof Error ? err.message : String(err), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [api, key, generation, local]);
  const reload = useCallback(() => setLocal((n) => n + 1), []);
  return { ...state, reload };
}
