/**
 * The preload of every LLMeter window. It exposes ONE object, `window.llmeter` (LlmeterBridge):
 * the typed API methods and `on(event, listener)`. The page never gets ipcRenderer, a generic
 * invoke, or an IPC event object (whose `sender` would reach back into Electron).
 *
 * Sandboxed preloads cannot load relative modules, so scripts/build.mjs bundles this file and
 * what it imports from shared/ into one CommonJS file (dist/electron/preload/preload.cjs) with
 * only `electron` left external.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_METHODS, type ApiMethod } from '../../shared/api.js';
import { API_CHANNELS, API_EVENTS, BRIDGE_KEY, EVENT_CHANNELS, type ApiEventName, type IpcReply, type LlmeterBridge } from '../../shared/ipc.js';

/** Invokes one API method; an `ok: false` reply becomes an Error carrying the app's message. */
async function call(method: ApiMethod, request: unknown): Promise<unknown> {
  const reply = (await ipcRenderer.invoke(API_CHANNELS[method], request)) as IpcReply;
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

const methods = Object.fromEntries(API_METHODS.map((method) => [method, (request?: unknown) => call(method, request)]));

const bridge = {
  ...methods,
  on(event: ApiEventName, listener: (payload: unknown) => void): () => void {
    if (!(API_EVENTS as readonly string[]).includes(event)) throw new Error(`LLMeter has no event called "${String(event)}".`);
    const channel = EVENT_CHANNELS[event];
    const forward = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
} as LlmeterBridge;

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
