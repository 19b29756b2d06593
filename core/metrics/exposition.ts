import { OPENMETRICS_CONTENT_TYPE, type MetricsExposition } from './registry.js';

/** Unit suffixes of our family names (base units: USD has no smaller Prometheus base, time is seconds). */
const UNITS = ['usd', 'seconds'] as const;

/**
 * Adds the `# UNIT` line OpenMetrics 1.0 asks for after the `# TYPE` of each family whose name ends
 * in a unit; the families are written without. The unit must be the name's suffix, or Prometheus rejects
 * the whole scrape, so it is read off the name rather than declared separately.
 */
export function withOpenMetricsUnits(text: string): string {
  return text.replace(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) \S+$/gm, (line, name: string) => {
    const unit = UNITS.find((suffix) => name.endsWith(`_${suffix}`));
    return unit ? `${line}\n# UNIT ${name} ${unit}` : line;
  });
}

/** The exposition text, completed with `# UNIT` lines when it speaks OpenMetrics. */
export async function renderMetrics(exposition: MetricsExposition): Promise<string> {
  const text = await exposition.metrics();
  return exposition.contentType === OPENMETRICS_CONTENT_TYPE ? withOpenMetricsUnits(text) : text;
}
