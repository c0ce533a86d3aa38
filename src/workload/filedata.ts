// The bytes a scenario's `file:` step creates, for every kernel: a repeated pattern, the start of
// a host file (read by the command line; loading a scenario never reads files by itself), or
// zeros; at most 64 MiB, checked before anything is allocated.

import { StepError } from './bare.js';
import type { Step } from './scenario/schema.js';

/** The largest file a scenario may create. */
export const MAX_FILE_BYTES = 64 << 20;

export type ReadHostFile = (path: string) => Uint8Array;

export function fileBytes(a: Extract<Step, { op: 'file' }>['args'], readHostFile: ReadHostFile | undefined): Uint8Array {
  if (a.size !== undefined && a.size > BigInt(MAX_FILE_BYTES)) throw new StepError('a file is at most 64 MiB in the model');
  if (a.content !== undefined && 'host' in a.content) {
    if (!readHostFile) throw new StepError('content {host: PATH} needs the command line (no host files here)');
    let host: Uint8Array;
    try {
      host = readHostFile(a.content.host);
    } catch (e) {
      throw new StepError(`cannot read host file ${a.content.host}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
    const n = a.size === undefined ? host.length : Number(a.size);
    if (n > MAX_FILE_BYTES) throw new StepError('a file is at most 64 MiB in the model');
    const data = new Uint8Array(n);
    data.set(host.subarray(0, n));
    return data;
  }
  const data = new Uint8Array(Number(a.size ?? 0n));
  if (a.content !== undefined) {
    const pat = new TextEncoder().encode(a.content.pattern);
    for (let i = 0; i < data.length; i++) data[i] = pat[i % pat.length]!;
  }
  return data;
}
