import { Argument, type Command } from 'commander';
import type { KeyCheckResult } from '../../../shared/api.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../../shared/providers.js';
import { keychainServiceName } from '../../keys/keychain.js';
import { deleteProviderKey, keychainProblem, listProviderKeys, setProviderKey, testProviderKey, type KeyManagementDeps, type ProviderKeyInfo } from '../../keys/manage.js';
import type { CliContext } from '../context.js';
import { readSecret } from '../secret-input.js';
import { table } from '../table.js';

const providerArgument = (): Argument => new Argument('<provider>', 'openai, anthropic or openrouter').choices(PROVIDER_IDS);

/** One row of `keys list`: never more of the key than its fingerprint. */
function describe(info: ProviderKeyInfo): string[] {
  const { displayName, keyEnv } = PROVIDERS[info.provider];
  if (!info.configured) return [displayName, '-', info.problem ? (info.keychainLocked ? 'keychain locked' : 'keychain unavailable') : 'no key', ''];
  const fingerprint = info.fingerprint ? `…${info.fingerprint}` : '(short key)';
  if (info.source === 'env') return [displayName, fingerprint, `environment (${keyEnv})`, 'not recorded for environment keys'];
  return [displayName, fingerprint, 'OS keychain', info.validatedAt ? `validated ${info.validatedAt}` : 'not validated'];
}

/** Prints the provider's verdict on a key: on stdout when it accepted the key, else on stderr with exit code 1. */
function reportKeyCheck(ctx: CliContext, outcome: KeyCheckResult): void {
  if (outcome.ok) {
    ctx.stdout(`${outcome.message}\n`);
  } else {
    ctx.stderr(`${outcome.message}\n`);
    process.exitCode = 1;
  }
}

/** `llmeter keys set|list|test|delete`: provider keys in the OS keychain, validated before they are stored. */
export function registerKeysCommand(program: Command, ctx: CliContext): void {
  const deps = (): KeyManagementDeps => ({ env: ctx.env, config: ctx.config() });
  const keys = program.command('keys').description(`manage provider keys in the OS keychain (service "${keychainServiceName(ctx.env)}")`);

  keys
    .command('set')
    .description('read a key from standard input (or a hidden prompt), check it with one call to the provider, then store it')
    .addArgument(providerArgument())
    .action(async (provider: ProviderId) => {
      const store = ctx.secretStore();
      const info = PROVIDERS[provider];
      // Before asking for the key: no point typing it in if it cannot be kept.
      const unavailable = await keychainProblem(store, provider);
      if (unavailable) {
        ctx.stderr(`${unavailable}\n`);
        process.exitCode = 1;
        return;
      }
      const key = await readSecret(`${info.displayName} ${info.keyName} (input hidden; create one at ${info.keyUrl}): `);
      reportKeyCheck(ctx, await setProviderKey(store, provider, key, deps()));
    });

  keys
    .command('list')
    .description('show which providers have a key, where it comes from, its last characters and when it was validated (never the key)')
    .action(async () => {
      const infos = await listProviderKeys(ctx.secretStore(), deps());
      ctx.stdout(table([['PROVIDER', 'KEY', 'SOURCE', 'STATUS'], ...infos.map(describe)]));
      const problems = new Set(infos.flatMap((info) => (info.problem ? [info.problem] : [])));
      for (const problem of problems) ctx.stderr(`${problem}\n`);
      if (problems.size > 0) process.exitCode = 1;
    });

  keys
    .command('test')
    .description('check the key in use (environment first, then keychain) with one call to the provider')
    .addArgument(providerArgument())
    .action(async (provider: ProviderId) => {
      reportKeyCheck(ctx, await testProviderKey(ctx.secretStore(), provider, deps()));
    });

  keys
    .command('delete')
    .description("remove a provider's key from the OS keychain")
    .addArgument(providerArgument())
    .action(async (provider: ProviderId) => {
      const { displayName, keyEnv } = PROVIDERS[provider];
      const { deleted } = await deleteProviderKey(ctx.secretStore(), provider, deps());
      ctx.stdout(deleted ? `Deleted the ${displayName} key from the OS keychain.\n` : `No ${displayName} key was stored in the OS keychain.\n`);
      if (ctx.env[keyEnv]?.trim()) ctx.stdout(`${keyEnv} is still set in this environment; LLMeter uses it while it is set.\n`);
    });
}
