import { Registry, type RegistryContentType } from 'prom-client';

/** Unit suffixes of our family names (base units: USD has no smaller Prometheus base, time is seconds). */
const UNITS = ['usd', 'seconds'] as const;

/**
 * Adds the `# UNIT` line OpenMetrics 1.0 asks for after the `# TYPE` of each family whose name ends
 * in a unit; prom-client writes none. The unit must be the name's suffix, or Prometheus rejects
 * the whole scrape, so it is read off the name rather than declared separately.
 */
export function withOpenMetricsUnits(text: string): string {
  return text.replace(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) \S+$/gm, (line, name: string) => {
    const unit = UNITS.find((suffix) => name.endsWith(`_${suffix}`));
    return unit ? `${line}\n# UNIT ${name} ${unit}` : line;
  });
}

/** The registry's exposition text, completed with `# UNIT` lines when it speaks OpenMetrics. */
export async function renderMetrics(registry: Registry<RegistryContentType>): Promise<string> {
  const text = await registry.metrics();
  return registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE ? withOpenMetricsUnits(text) : text;
}

const OPENMETRICS_EOF = '# EOF\n';

/**
 * Appends expositions rendered by separate registries (renderMetrics) into one, as a single
 * registry holding all their families writes it: OpenMetrics has one `# EOF`, at the end; the
 * Prometheus text format has a blank line between families.
 */
export function joinExpositions(texts: readonly string[], openMetrics: boolean): string {
  if (!openMetrics) return texts.join('\n');
  return `${texts.map((text) => (text.endsWith(OPENMETRICS_EOF) ? text.slice(0, -OPENMETRICS_EOF.length) : text)).join('')}${OPENMETRICS_EOF}`;
}
