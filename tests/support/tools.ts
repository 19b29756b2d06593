import { spawnSync } from 'node:child_process';

/** An optional system tool a suite needs, and how a person installs it. */
export interface SystemTool {
  name: string;
  /** Command whose success proves the tool is there. */
  probe: [string, ...string[]];
  install: string;
}

export const TOOLS = {
  prometheus: { name: 'Prometheus', probe: ['prometheus', '--version'], install: 'apt-get install prometheus' },
  promtool: { name: 'promtool', probe: ['promtool', '--version'], install: 'apt-get install prometheus' },
  chromium: { name: 'Chromium', probe: ['chromium', '--version'], install: 'apt-get install chromium' },
  secretService: { name: 'a Secret Service (gnome-keyring on D-Bus)', probe: ['sh', '-c', 'command -v dbus-run-session && command -v dbus-daemon && command -v dbus-send && command -v gnome-keyring-daemon && command -v secret-tool'], install: 'apt-get install dbus gnome-keyring libsecret-tools' },
} satisfies Record<string, SystemTool>;

/**
 * Whether a suite may run: true when the tool is there. Outside CI a missing tool skips the suite
 * with a line naming the tool and how to install it; with CI=true it fails the run instead.
 */
export function toolAvailable(tool: SystemTool): boolean {
  const [command, ...args] = tool.probe;
  const ok = spawnSync(command, args, { stdio: 'ignore' }).status === 0;
  if (ok) return true;
  const line = `${tool.name} is not installed (${tool.install})`;
  if (process.env.CI === 'true') throw new Error(`${line}; CI=true requires it.`);
  console.warn(`SKIPPED: ${line}; the suites that need it are skipped.`);
  return false;
}
