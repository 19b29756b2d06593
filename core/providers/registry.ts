import type { ProviderId } from '../../shared/providers.js';
import { anthropicAdapter } from './anthropic.js';
import { openaiAdapter } from './openai.js';
import { openrouterAdapter } from './openrouter.js';
import type { ProviderAdapter } from './types.js';

/** The production adapter of every provider. */
export const ADAPTERS: Record<ProviderId, ProviderAdapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  openrouter: openrouterAdapter,
};
