/**
 * The Electron transport of the typed API (shared/api.ts): one IPC channel per API method, one per
 * pushed event, the envelope replies travel in, and the shape of the object the preload exposes
 * as `window.llmeter`. Everything here is derived from ApiContract, so a method added there gets
 * a channel without touching this file, and a method or event missing here is a type error.
 */
import { API_METHODS, type ApiContract, type ApiEvents, type ApiMethod, type LlmeterApi } from './api.js';

/** Name under which the preload exposes the bridge: `window.llmeter`. */
export const BRIDGE_KEY = 'llmeter';

/** Channel of one API method: `llmeter:getOverview`, … */
export type ApiChannel<M extends ApiMethod = ApiMethod> = `llmeter:${M}`;

export type ApiEventName = keyof ApiEvents;

/** Channel of one pushed event: `llmeter:event:dataChanged`, … */
export type EventChannel<E extends ApiEventName = ApiEventName> = `llmeter:event:${E}`;

/** The channel of an API method. */
export function apiChannel<M extends ApiMethod>(method: M): ApiChannel<M> {
  return `llmeter:${method}`;
}

/** The channel of a pushed event. */
export function eventChannel<E extends ApiEventName>(event: E): EventChannel<E> {
  return `llmeter:event:${event}`;
}

/** Every event the main process pushes. Exhaustive over ApiEvents (checked below). */
export const API_EVENTS = ['dataChanged', 'showBudget'] as const satisfies readonly ApiEventName[];

// Compile-time exhaustiveness: a method of ApiContract missing from API_METHODS, or an event of
// ApiEvents missing from API_EVENTS, turns one of these into Assert<false> and fails the type-check.
type CoversAll<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : false;
type Assert<Condition extends true> = Condition;
/** Proof that API_METHODS lists every method of ApiContract. */
export type EveryMethodHasAChannel = Assert<CoversAll<ApiMethod, (typeof API_METHODS)[number]>>;
/** Proof that API_EVENTS lists every event of ApiEvents. */
export type EveryEventHasAChannel = Assert<CoversAll<ApiEventName, (typeof API_EVENTS)[number]>>;

/** Every API channel by method. */
export const API_CHANNELS = Object.fromEntries(API_METHODS.map((method) => [method, apiChannel(method)])) as { readonly [M in ApiMethod]: ApiChannel<M> };

/** Every event channel by event. */
export const EVENT_CHANNELS = Object.fromEntries(API_EVENTS.map((event) => [event, eventChannel(event)])) as { readonly [E in ApiEventName]: EventChannel<E> };

/**
 * What an API channel answers. Failures travel as data rather than as a thrown error because
 * Electron wraps thrown errors in "Error invoking remote method 'llmeter:…': Error: …"; the
 * preload turns `ok: false` back into an Error whose message is the app's one line for people.
 */
export type IpcReply<M extends ApiMethod = ApiMethod> = { ok: true; value: ApiContract[M]['response'] } | { ok: false; error: string };

/** The object the preload exposes as `window.llmeter`: the API plus a subscription to pushed events. */
export type LlmeterBridge = LlmeterApi & {
  /** Calls `listener` for every `event` pushed by the app; returns the unsubscribe function. */
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
};
