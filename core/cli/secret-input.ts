/** Reading a secret from a person or a pipe without it ever being echoed, logged or kept in history. */

// A key is far shorter; a bigger input is a mistake (a whole file piped in), not a key.
const MAX_INPUT_BYTES = 64 * 1024;

/**
 * The secret: from a hidden prompt when `input` is a terminal (nothing is echoed), otherwise all
 * of standard input with surrounding whitespace removed. The prompt goes to `output` (stderr), so
 * that standard output stays clean for scripts.
 */
export function readSecret(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return input.isTTY ? readHidden(prompt, input, output) : readAll(input);
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw new Error(`Standard input is larger than ${MAX_INPUT_BYTES / 1024} KiB; pipe in the key alone.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed.trim());
    };
    const onData = (chunk: Buffer): void => {
      // A paste arrives as one chunk; each character is handled in turn.
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(null);
        if (char === '\u0003' || (char === '\u0004' && typed === '')) return finish(new Error('Cancelled; nothing was stored.'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    input.on('data', onData);
  });
}
