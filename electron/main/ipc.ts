/**
 * The main-process side of the typed IPC: one `ipcMain.handle` per API method, each of which
 * checks the sender frame, parses the payload with its schema and answers with an IpcReply.
 */
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { redact, type Logger } from '../../core/log.js';
import { API_METHODS, type ApiMethod, type LlmeterApi } from '../../shared/api.js';
import { API_CHANNELS, type IpcReply } from '../../shared/ipc.js';
import { describeInvalidRequest, REQUEST_SCHEMAS } from '../../core/api/request-schemas.js';

/** Thrown back to a frame that is not ours; it gets no data and no detail. */
export class UntrustedSenderError extends Error {}

export interface IpcDeps {
  /** The sender check of security.ts: our page, main frame, a window we created. */
  isTrustedSender(event: IpcMainInvokeEvent): boolean;
  log: Logger;
}

/** Answers one call: sender check, payload check, then the API. */
async function answerCall(api: LlmeterApi, method: ApiMethod, event: IpcMainInvokeEvent, payload: unknown, deps: IpcDeps): Promise<IpcReply> {
  if (!deps.isTrustedSender(event)) {
    deps.log.warn('refused an IPC call from a frame that is not the app', { method, url: (event.senderFrame?.url ?? 'unknown').slice(0, 200) });
    throw new UntrustedSenderError('Refused: this page is not part of LLMeter.');
  }
  const parsed = REQUEST_SCHEMAS[method].safeParse(payload);
  if (!parsed.success) {
    const error = describeInvalidRequest(method, parsed.error);
    deps.log.warn(error);
    return { ok: false, error };
  }
  try {
    const call = api[method] as (request: unknown) => Promise<unknown>;
    return { ok: true, value: await call(parsed.data) } as IpcReply;
  } catch (err) {
    // Core errors are written for people; redact() is a second line of defence for key bytes.
    const error = redact(err instanceof Error ? err.message : String(err));
    deps.log.warn('API call failed', { method, error });
    return { ok: false, error };
  }
}

/** Registers a handler for every API method; returns the function that removes them all. */
export function registerApiHandlers(api: LlmeterApi, deps: IpcDeps): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(API_CHANNELS[method], (event, payload: unknown) => answerCall(api, method, event, payload, deps));
  }
  return () => {
    for (const method of API_METHODS) ipcMain.removeHandler(API_CHANNELS[method]);
  };
}
