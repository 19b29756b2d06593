import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled bench/cli.ts, next to this module. */
export const CLI_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');

/** Fixed tokens, so the benchmark can call every route of the servers it starts. */
export const TOKENS = { metrics: 'bench-metrics-token-0123456789abcdef', ingest: 'bench-ingest-token-0123456789abcdef', ui: 'bench-ui-token-0123456789abcdef' };

/** A `llmeter serve` child process on a loopback port. */
export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Milliseconds from spawn to the "serving" line. */
  startedMs: number;
  stop(): Promise<void>;
}

/** Environment of a benchmark's `llmeter` process: its data folder, fixed tokens, no provider key, no keychain lookups of ours. */
export function cliEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LLMETER_DATA_DIR: dataDir, LLMETER_METRICS_TOKEN: TOKENS.metrics, LLMETER_INGEST_TOKEN: TOKENS.ingest, LLMETER_UI_TOKEN: TOKENS.ui, LLMETER_LOG_LEVEL: 'warn', ...extra };
  for (const name of ['LLMETER_OPENAI_ADMIN_KEY', 'LLMETER_ANTHROPIC_ADMIN_KEY', 'LLMETER_OPENROUTER_MANAGEMENT_KEY']) delete env[name];
  return env;
}

/** Starts `llmeter serve --port 0` on `dataDir` and resolves once it prints its URL. */
export async function startServe(dataDir: string, options: { extraEnv?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Promise<ServeProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_ENTRY, 'serve', '--host', '127.0.0.1', '--port', '0'], { env: cliEnv(dataDir, options.extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`llmeter serve did not start within 120 s:\n${output}`)), 120_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /serving on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`llmeter serve exited with ${code}:\n${output}`));
    });
  });
  const startedMs = performance.now() - started;
  return {
    url,
    child,
    startedMs,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

type RequestOptions = { method?: string; token?: string; body?: string | Buffer; accept?: string };

/**
 * One HTTP request on a kept-alive loopback connection; resolves with the status and the whole
 * body. A request that met a kept-alive connection the server had just closed (its idle timeout,
 * e.g. while a slow baseline ran) is sent again on a new one, as Node's documentation advises.
 */
export async function httpRequest(url: string, options: RequestOptions = {}): Promise<{ status: number; body: string }> {
  try {
    return await sendOnce(url, options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((err as { reusedSocket?: boolean }).reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) return sendOnce(url, options);
    throw err;
  }
}

function sendOnce(url: string, options: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.accept) headers['accept'] = options.accept;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    const req = request(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(options.body);
  });
}

/** Like httpRequest, but throws unless the answer is 200. */
export async function httpOk(url: string, options: RequestOptions = {}): Promise<string> {
  const answer = await httpRequest(url, options);
  if (answer.status !== 200) throw new Error(`${options.method ?? 'GET'} ${url} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return answer.body;
}
