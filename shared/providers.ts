/** The billing providers LLMeter can poll. Adding one means adding its id here and one adapter file. */
export const PROVIDER_IDS = ['openai', 'anthropic', 'openrouter'] as const;

export type ProviderId = (typeof PROVIDER_IDS)[number];

/** What a person needs to know about a provider to connect it. */
export interface ProviderInfo {
  id: ProviderId;
  displayName: string;
  /** What the provider calls the key LLMeter needs. */
  keyName: string;
  /** Where the user creates that key. */
  keyUrl: string;
  /** Environment variable that overrides the keychain. */
  keyEnv: string;
  /** Environment variable that overrides the API origin (tests, proxies). */
  baseUrlEnv: string;
  defaultBaseUrl: string;
  /** Typical key prefix, used only to warn about an obviously wrong kind of key. */
  keyPrefix: string;
}

export const PROVIDERS: Record<ProviderId, ProviderInfo> = {
  openai: {
    id: 'openai',
    displayName: 'OpenAI',
    keyName: 'organization Admin API key',
    keyUrl: 'https://platform.openai.com/settings/organization/admin-keys',
    keyEnv: 'LLMETER_OPENAI_ADMIN_KEY',
    baseUrlEnv: 'LLMETER_OPENAI_BASE_URL',
    defaultBaseUrl: 'https://api.openai.com',
    keyPrefix: 'sk-admin-',
  },
  anthropic: {
    id: 'anthropic',
    displayName: 'Anthropic',
    keyName: 'Admin API key',
    keyUrl: 'https://console.anthropic.com/settings/admin-keys',
    keyEnv: 'LLMETER_ANTHROPIC_ADMIN_KEY',
    baseUrlEnv: 'LLMETER_ANTHROPIC_BASE_URL',
    defaultBaseUrl: 'https://api.anthropic.com',
    keyPrefix: 'sk-ant-admin',
  },
  openrouter: {
    id: 'openrouter',
    displayName: 'OpenRouter',
    keyName: 'management key',
    keyUrl: 'https://openrouter.ai/settings/management-keys',
    keyEnv: 'LLMETER_OPENROUTER_MANAGEMENT_KEY',
    baseUrlEnv: 'LLMETER_OPENROUTER_BASE_URL',
    defaultBaseUrl: 'https://openrouter.ai',
    keyPrefix: 'sk-or-',
  },
};

/** Narrows an arbitrary string to a provider id. */
export function isProviderId(value: unknown): value is ProviderId {
  return typeof value === 'string' && (PROVIDER_IDS as readonly string[]).includes(value);
}
