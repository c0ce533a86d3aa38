// How the model shows a kernel function running: the `enter`/`leave`/`decision` events that the
// text renderer draws as an ftrace function_graph (CONFIG_FUNCTION_GRAPH_TRACER), and printk.
// Callers that build arguments guard with `if (k.machine.trace.enabled)` so nothing is allocated
// with tracing off; the helpers themselves also check, so a bare call is free when off.

import type { X86Kernel } from '../include/asm/processor.js';

/** Enter `fn` (defined in `file`, e.g. "arch/x86/mm/fault.c"). */
export function fentry(k: X86Kernel, fn: string, file: string, args?: Record<string, string>): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit({ ev: 'enter', fn, src: `${file}:${fn} (${k.version})`, args });
}

/** Leave `fn`, optionally with its return value. */
export function fexit(k: X86Kernel, fn: string, ret?: string): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit({ ev: 'leave', fn, ret });
}

/** A guard or branch taken inside `fn`; `reason` comes from the caller's string-literal union. */
export function decide(k: X86Kernel, fn: string, reason: string, detail?: string): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit({ ev: 'decision', fn, reason, detail });
}

/** A kernel log line (printk); the session also keeps it for the step result. */
export function printk(k: X86Kernel, text: string): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit({ ev: 'log', text });
  k.dmesg.push(text);
}
