import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { Settings } from '../../shared/settings.js';

export type Theme = 'light' | 'dark';
const ThemeContext = createContext<Theme>('light');

const DARK_QUERY = '(prefers-color-scheme: dark)';

function systemTheme(): Theme {
  return typeof window !== 'undefined' && window.matchMedia?.(DARK_QUERY).matches ? 'dark' : 'light';
}

/**
 * Follows the OS light/dark setting (live) unless the user's settings pin one. The choice is put on
 * <html data-theme> so the CSS variables switch; canvas charts read it from context to redraw.
 */
export function ThemeProvider({ preference, children }: { preference: Settings['ui']['theme']; children: ReactNode }) {
  const [system, setSystem] = useState<Theme>(systemTheme);
  useEffect(() => {
    const query = window.matchMedia?.(DARK_QUERY);
    if (!query) return undefined;
    const update = () => setSystem(query.matches ? 'dark' : 'light');
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);
  const theme = preference === 'system' ? system : preference;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return <ThemeContext.Provider value={theme}>{children}</ThemeContext.Provider>;
}

/** The theme in effect. */
export function useTheme(): Theme {
  return useContext(ThemeContext);
}
