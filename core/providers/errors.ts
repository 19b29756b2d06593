import type { ProviderId } from '../../shared/providers.js';
import { PROVIDERS } from '../../shared/providers.js';
import { redact } from '../log.js';

/** What went wrong talking to a provider; decides retrying and what the person is told to do. */
export type ProviderErrorKind =
  | 'auth'
  | 'permission'
  | 'unreachable'
  | 'timeout'
  | 'rate_limited'
  | 'server'
  | 'malformed'
  | 'too_large'
  | 'bad_request';

/**
 * A failed call to a provider's billing API. `message` is written for the person reading it:
 * which provider, what failed, what to do. It never contains a key or a header value.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: ProviderId;
  readonly kind: ProviderErrorKind;
  readonly status?: number;

  constructor(provider: ProviderId, kind: ProviderErrorKind, message: string, status?: number) {
    super(scrubSecrets(message));
    this.provider = provider;
    this.kind = kind;
    if (status !== undefined) this.status = status;
  }
}

/** Whether the same request may succeed if sent again after a pause. */
export function isRetryable(kind: ProviderErrorKind): boolean {
  return kind === 'rate_limited' || kind === 'server' || kind === 'unreachable' || kind === 'timeout';
}

// Providers echo keys back in their own error texts, sometimes half-masked ("sk-admin-****abcd");
// none of it belongs in a message that ends up in logs, the tray and the health endpoint.
const ANY_KEY_SHAPE = /\bsk-[\w*…-]*/g;

/** Removes registered secrets and anything shaped like a provider key (`sk-…`) from `text`. */
export function scrubSecrets(text: string): string {
  return redact(text).replace(ANY_KEY_SHAPE, 'sk-…');
}

/** Details of a failed HTTP exchange that may go into a message. */
export interface FailureDetail {
  status?: number;
  /** The provider's own error message, already scrubbed and shortened. */
  providerMessage?: string;
  /** Free text appended as is (attempt counts, the cause of a network error). */
  note?: string;
}

/** Builds a ProviderError whose message says which provider, what failed and what to do. */
export function providerFailure(provider: ProviderId, kind: ProviderErrorKind, detail: FailureDetail = {}): ProviderError {
  const info = PROVIDERS[provider];
  const name = info.displayName;
  const status = detail.status === undefined ? '' : ` (HTTP ${detail.status})`;
  const said = detail.providerMessage ? ` ${name} said: "${detail.providerMessage}".` : '';
  const note = detail.note ? ` ${detail.note}` : '';
  const setKey = `run \`npx llmeter keys set ${provider}\``;
  let text: string;
  switch (kind) {
    case 'auth':
      text = `${name} rejected the ${info.keyName}${status}.${said} Create ${withArticle(info.keyName)} at ${info.keyUrl} and ${setKey}.`;
      break;
    case 'permission':
      text = `${name} refused access${status}: ${MISSING_PERMISSION[provider]}.${said} Create one at ${info.keyUrl} and ${setKey}.`;
      break;
    case 'rate_limited':
      text = `${name} is rate-limiting LLMeter${status}.${said}${note} The next poll tries again; nothing to do unless this persists.`;
      break;
    case 'server':
      text = `${name} had a server error${status}.${said}${note} The next poll tries again; check ${name}'s status page if this persists.`;
      break;
    case 'unreachable':
      text = `Could not reach ${name}.${note} Check the network connection and, if set, ${info.baseUrlEnv}.`;
      break;
    case 'timeout':
      text = `${name} did not answer in time.${note} The next poll tries again; check the network connection if this persists.`;
      break;
    case 'too_large':
      text = `${name} sent a response larger than LLMeter accepts${status}.${note} Nothing was stored from it; if ${info.baseUrlEnv} is set, check that it points at ${name}.`;
      break;
    case 'bad_request':
      text = `${name} rejected LLMeter's request${status}.${said}${note} If ${info.baseUrlEnv} is set, check that it points at ${name}'s API; otherwise please report this as an LLMeter bug.`;
      break;
    case 'malformed':
      text = `${name} sent a response LLMeter cannot read${status}.${note} Nothing was stored from it; if ${info.baseUrlEnv} is set, check that it points at ${name}'s API, otherwise please report this as an LLMeter bug.`;
      break;
  }
  return new ProviderError(provider, kind, text, detail.status);
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

const MISSING_PERMISSION: Record<ProviderId, string> = {
  openai: 'the key lacks the api.usage.read permission; LLMeter needs an organization Admin API key (a project or service-account key is not enough)',
  anthropic: "LLMeter needs an organization's Admin API key; a workspace API key is not enough",
  openrouter: 'LLMeter needs a management key; an ordinary inference key is not enough',
};

/**
 * A response whose HTTP exchange succeeded but whose content is not what the documented API returns.
 * `field` names the JSON path, `problem` what was wrong with it; neither quotes the body.
 */
export function malformedField(provider: ProviderId, endpoint: string, field: string, problem: string): ProviderError {
  return providerFailure(provider, 'malformed', { note: `In ${endpoint}, field \`${field}\` ${problem}.` });
}
