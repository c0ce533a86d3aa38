// Text renderer: the trace as an ftrace `function_graph` listing (Documentation/trace/ftrace.rst,
// "function_graph"), the view a kernel reader already knows:
//
//   # CPU  SEQ    FUNCTION CALLS
//   # |      |    |   |   |
//    0)      9 |  exc_page_fault(error_code=0x6) { /* arch/x86/mm/fault.c:exc_page_fault (6.18) */
//    0)     10 |    /* lock_mm_and_find_vma: vma-found */
//    0)     11 |    handle_mm_fault(); /* mm/memory.c:handle_mm_fault (6.18) */ /* = VM_FAULT_COMPLETED */
//    0)     13 |  } /* exc_page_fault = 0 */
//
// The model is deterministic and has no clock, so the DURATION column of ftrace is replaced by
// the event's sequence number (its index in the trace). Hardware events become comment lines,
// as ftrace prints trace_printk() inside a graph. The layout is stored in golden files: change
// it only on purpose, and then re-accept the goldens.

import type { Level, TraceEvent } from '../trace/events.js';

export interface TextOptions {
  /** ANSI colours on the text column only (the columns stay aligned). Default: off. */
  color?: boolean;
}

/** The header's columns line up with the data: SEQ ends at column 9, calls start at column 14. */
export const TEXT_HEADER = ['# CPU  SEQ    FUNCTION CALLS', '# |      |    |   |   |'];

/** Width of the SEQ column: six digits keep a million events aligned. */
const SEQ_WIDTH = 6;
/** One nesting level, as in ftrace. */
const INDENT = '  ';

type Style = 'plain' | 'fn' | 'hw' | 'banner' | 'log' | 'alarm';

const ANSI: Record<Style, string> = {
  plain: '',
  fn: '\x1b[1m',
  hw: '\x1b[2m',
  banner: '\x1b[1;36m',
  log: '\x1b[33m',
  alarm: '\x1b[31m',
};

/** Render events as an ftrace function_graph-like listing, one line per event (header first). */
export function renderText(events: readonly TraceEvent[], opts: TextOptions = {}): string {
  const lines = [...TEXT_HEADER];
  const stack: string[] = [];
  for (let seq = 0; seq < events.length; seq++) {
    const e = events[seq]!;
    const line = (text: string, depth: number, style: Style): void => {
      lines.push(prefix(seq) + INDENT.repeat(depth) + paint(text, style, opts.color === true));
    };
    if (e.ev === 'enter') {
      const next = events[seq + 1];
      if (next !== undefined && next.ev === 'leave' && next.fn === e.fn) {
        // A call with nothing inside collapses to `fn();`, like an ftrace leaf function.
        line(leafCall(e, next.ret), stack.length, 'fn');
        seq++;
      } else {
        line(`${call(e)} { /* ${e.src} */`, stack.length, 'fn');
        stack.push(e.fn);
      }
    } else if (e.ev === 'leave') {
      const matched = popTo(stack, e.fn);
      line(closeBrace(e.fn, e.ret, matched), stack.length, 'fn');
    } else if (e.ev === 'pt_regs') {
      for (const text of ptRegsLines(e)) line(text, stack.length, 'plain');
    } else if (e.ev === 'log') {
      // printk text is shown verbatim; a multi-line message keeps the columns on every line.
      for (const text of e.text.split('\n')) line(text, stack.length, 'log');
    } else {
      line(describeEvent(e, stack[stack.length - 1]), stack.length, styleOf(e));
    }
  }
  return lines.join('\n') + '\n';
}

/** ` 0)     12 |  `: CPU column, sequence number, then the call-graph column. */
function prefix(seq: number): string {
  return ` 0) ${String(seq).padStart(SEQ_WIDTH)} |  `;
}

function paint(text: string, style: Style, color: boolean): string {
  return color && ANSI[style] !== '' ? `${ANSI[style]}${text}\x1b[0m` : text;
}

/**
 * Pop the call stack down to `fn`. Returns false (and leaves the stack alone) for a `leave`
 * whose `enter` is not in the trace, as when a trace starts mid-call.
 */
function popTo(stack: string[], fn: string): boolean {
  const at = stack.lastIndexOf(fn);
  if (at < 0) return false;
  stack.length = at;
  return true;
}

/** `fn(a=1, b=2)`: arguments as ftrace's funcgraph-args option prints them. */
function call(e: Extract<TraceEvent, { ev: 'enter' }>): string {
  const args = Object.entries(e.args ?? {}).map(([k, v]) => `${k}=${v}`);
  return `${e.fn}(${args.join(', ')})`;
}

/** Return values follow ftrace's funcgraph-retval format: `fn(); /* = 0x0 *\/`. */
function leafCall(e: Extract<TraceEvent, { ev: 'enter' }>, ret: string | undefined): string {
  const r = ret === undefined ? '' : ` /* = ${ret} */`;
  return `${call(e)}; /* ${e.src} */${r}`;
}

/** `}`, `} /* fn = ret *\/`, or `} /* fn *\/` when the matching `{` is not in the trace. */
function closeBrace(fn: string, ret: string | undefined, matched: boolean): string {
  if (ret !== undefined) return `} /* ${fn} = ${ret} */`;
  return matched ? '}' : `} /* ${fn} */`;
}

function styleOf(e: TraceEvent): Style {
  switch (e.ev) {
    case 'step':
    case 'step_end':
      return 'banner';
    case 'exception':
    case 'double_fault':
    case 'shutdown':
    case 'signal':
      return 'alarm';
    case 'decision':
    case 'pte_write':
    case 'frame':
      return 'plain';
    default:
      return 'hw';
  }
}

const LEVEL_NAME: Record<Level, string> = { pml5: 'PML5', pml4: 'PML4', pdpt: 'PDPT', pd: 'PD', pt: 'PT' };

/** A 9-bit table index as the SDM draws it: PML4[0x0fe]. */
const slot = (level: Level, index: number): string =>
  `${LEVEL_NAME[level]}[0x${index.toString(16).padStart(3, '0')}]`;

const h = (n: number): string => `0x${n.toString(16)}`;
const opt = (label: string, v: string | number | undefined): string => (v === undefined ? '' : ` ${label}=${v}`);
const withFlags = (flags: string): string => (flags === '' ? '' : ` ${flags}`);

/**
 * One event as the text of its line, without columns or indentation. `inFn` is the innermost
 * open kernel function, so a decision made by that function need not repeat its name.
 * Exhaustive over the union: a new event type fails to compile until it has a rendering.
 */
export function describeEvent(e: TraceEvent, inFn?: string): string {
  switch (e.ev) {
    case 'step': {
      const line = e.line === undefined ? '' : ` (line ${e.line})`;
      return `# step ${e.step}${line}: ${e.op} on ${e.proc} [${e.kernel}]`;
    }
    case 'step_end':
      return `# step ${e.step} done: ${e.outcome}`;
    case 'access': {
      const implicit = e.implicit ? ' implicit' : '';
      const what = e.what === undefined ? '' : ` (${e.what})`;
      return `/* access ${e.mode} ${e.access} va=${e.va} size=${e.size} cpl=${e.cpl}${implicit}${what} */`;
    }
    case 'access_done':
      return `/* access done va=${e.va} pa=${e.pa}${opt('value', e.value)} */`;
    case 'tlb':
      return `/* ${describeTlb(e)} */`;
    case 'tlb_flush': {
      const keep = e.keepGlobal ? ' keep-global' : '';
      return `/* tlb flush ${e.cause}${opt('va', e.va)}${opt('pcid', e.pcid)} entries=${e.entries}${keep} */`;
    }
    case 'walk': {
      const leaf = e.leaf ? ' (leaf)' : '';
      return `/* walk ${slot(e.level, e.index)} @${e.entryPa} = ${e.entry}${withFlags(e.flags)}${leaf} */`;
    }
    case 'walk_fault':
      return `/* walk fault at ${LEVEL_NAME[e.level]}: ${e.reason} error_code=${h(e.errorCode)} */`;
    case 'walk_ok':
      return `/* walk ok pa=${e.pa} ${e.pageSize} ${e.rights} pkey=${e.pkey} */`;
    case 'ad_set':
      return `/* set ${e.bits} in ${LEVEL_NAME[e.level]} entry @${e.entryPa} = ${e.entry} */`;
    case 'exception':
    case 'gate':
    case 'stack_switch':
    case 'push':
    case 'pop':
    case 'deliver':
    case 'iret':
    case 'double_fault':
    case 'shutdown':
    case 'reg':
      return `/* ${describeCpu(e)} */`;
    case 'enter':
      return `${call(e)} { /* ${e.src} */`;
    case 'leave':
      return closeBrace(e.fn, e.ret, true);
    case 'decision': {
      const who = e.fn === inFn ? '' : `${e.fn}: `;
      return `/* ${who}${e.reason}${e.detail === undefined ? '' : ` (${e.detail})`} */`;
    }
    case 'pte_write':
      return `/* write ${LEVEL_NAME[e.level]} entry @${e.entryPa}: ${e.old} -> ${e.value}${withFlags(e.flags)}${opt('va', e.va)} */`;
    case 'frame':
      return `/* ${e.what} frame pfn=${e.pfn} (${e.why}) */`;
    case 'signal': {
      const extra = `${opt('trapno', e.trapno)}${e.err === undefined ? '' : ` err=${h(e.err)}`}`;
      return `/* signal ${e.name} (${e.signo}) code=${e.codeName}(${e.code}) addr=${e.addr} to pid ${e.pid}${extra} */`;
    }
    case 'pt_regs':
      return ptRegsLines(e).join(' ');
    case 'log':
      return e.text;
    default:
      return unreachable(e);
  }
}

/**
 * A pt_regs frame as a block, three fields per line with their offsets, the way
 * arch/x86/include/asm/ptrace.h lays the struct out (r15 at offset 0, ss at 160).
 */
export function ptRegsLines(e: Extract<TraceEvent, { ev: 'pt_regs' }>): string[] {
  const entries = Object.entries(e.regs);
  const out = [`/* struct pt_regs @${e.addr} (${e.fn}):`];
  for (let i = 0; i < entries.length; i += 3) {
    const cols = entries.slice(i, i + 3).map(([name, v], j) => `+${String((i + j) * 8).padStart(3)} ${name.padEnd(7)} ${v.padEnd(18)}`);
    out.push(`     ${cols.join(' ').trimEnd()}`);
  }
  out.push('*/');
  return out;
}

function describeTlb(e: Extract<TraceEvent, { ev: 'tlb' }>): string {
  const head = `tlb ${e.what} va=${e.va} pcid=${e.pcid}`;
  if (e.pa === undefined) return head;
  const size = e.pageSize === undefined ? '' : ` ${e.pageSize}`;
  return `${head} -> pa=${e.pa}${size}${e.global ? ' global' : ''}`;
}

type CpuEvent = Extract<
  TraceEvent,
  { ev: 'exception' | 'gate' | 'stack_switch' | 'push' | 'pop' | 'deliver' | 'iret' | 'double_fault' | 'shutdown' | 'reg' }
>;

/** Exception delivery (SDM Vol. 3 ch. 6), in the words the SDM and the kernel's entry code use. */
function describeCpu(e: CpuEvent): string {
  switch (e.ev) {
    case 'exception': {
      const ec = e.errorCode === undefined ? '' : ` error_code=${h(e.errorCode)}`;
      return `${e.name}${ec}${opt('cr2', e.cr2)}: ${e.reason}`;
    }
    case 'gate':
      return `gate ${e.vector} @${e.gateVa}: offset=${e.offset} sel=${h(e.selector)} ist=${e.ist} ${e.type} DPL${e.dpl}`;
    case 'stack_switch': {
      // Privilege changes load RSPn for the target CPL, which is always 0 for a kernel gate.
      const which = e.why === 'ist' ? `IST${e.ist ?? '?'}` : 'RSP0';
      return `stack switch ${e.from} -> ${e.to} (${e.why}, ${which})`;
    }
    case 'push':
    case 'pop':
      return `${e.ev} ${e.what} = ${e.value} @${e.addr}`;
    case 'deliver':
      return `deliver vector ${e.vector} -> rip=${e.rip} cs=${h(e.cs)} rsp=${e.rsp} cpl=${e.cpl}${e.ifCleared ? ' IF=0' : ''}`;
    case 'iret':
      return `iretq -> rip=${e.rip} cs=${h(e.cs)} rflags=${e.rflags} rsp=${e.rsp} ss=${h(e.ss)} cpl=${e.cpl}`;
    case 'double_fault':
      return `#DF: vector ${e.second} while delivering vector ${e.first}`;
    case 'shutdown':
      return `shutdown: ${e.reason} (vector ${e.vector})`;
    case 'reg':
      return `${e.name} = ${e.value} (was ${e.old})`;
    default:
      return unreachable(e);
  }
}

function unreachable(e: never): never {
  throw new Error(`unhandled trace event ${JSON.stringify(e)}`);
}
