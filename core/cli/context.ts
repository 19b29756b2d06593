import { resolveConfig, type CoreConfig } from '../config.js';
import { osKeychain, type SecretStore } from '../keys/keychain.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';

/** What every command gets: configuration, keychain, logger and output streams. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  config(overrides?: { host?: string; port?: string | number }): CoreConfig;
  secretStore(): SecretStore;
  logger(level?: LogLevel): Logger;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The real context: process environment, OS keychain, stdout/stderr. */
export function processContext(): CliContext {
  return {
    env: process.env,
    config: (overrides) => resolveConfig(process.env, overrides),
    secretStore: () => osKeychain(),
    logger: (level = 'info') => createLogger({ level: (process.env.LLMETER_LOG_LEVEL as LogLevel | undefined) ?? level }),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}
