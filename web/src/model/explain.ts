// One plain sentence for what just happened, for a reader new to the path: the CPU's side from
// the SDM (Vol. 3 ch. 4 paging, ch. 6 interrupts), the kernel's side from the trace. Events the
// sentence does not cover get the trace line alone.

import { explainPfError } from '../../../src/hw/pferr.js';
import type { TraceEvent } from '../../../src/trace/events.js';

const LEVEL: Record<string, string> = { pml5: 'PML5', pml4: 'PML4', pdpt: 'page-directory-pointer', pd: 'page-directory', pt: 'page-table' };

export function explain(e: TraceEvent | undefined, kernel: string): string {
  if (!e) return 'The machine has booted; nothing has run yet. Press → (step) or f (to the next fault).';
  switch (e.ev) {
    case 'step': return `Scenario step ${e.step}: ${e.op} in process ${e.proc}.`;
    case 'access': return `The CPU makes a ${e.implicit ? 'implicit supervisor ' : ''}${e.access} of ${e.size} byte${e.size > 1 ? 's' : ''} at ${e.va} at CPL ${e.cpl}${e.what ? ` (${e.what})` : ''}: first it must translate the address.`;
    case 'access_done': return `The access completes: ${e.va} is physical ${e.pa}${e.value !== undefined ? `, value ${e.value}` : ''}.`;
    case 'pop': return `${e.what} = ${e.value} is popped from ${e.addr}.`;
    case 'double_fault': return `A fault while delivering vector ${e.first} (vector ${e.second}) becomes a double fault (#DF, SDM Table 6-5).`;
    case 'shutdown': return 'A fault while delivering #DF: triple fault, the processor shuts down.';
    case 'log': return `The kernel logs: ${e.text}`;
    case 'tlb':
      if (e.what === 'hit') return `The TLB holds a translation for this page (PCID ${e.pcid}): no page walk is needed (SDM §4.10.2).`;
      if (e.what === 'miss') return 'The TLB has no translation for this page: the CPU walks the page tables from CR3 (SDM §4.5).';
      return `The CPU caches the translation in the TLB (${e.pageSize ?? ''} page${e.global ? ', global' : ''}).`;
    case 'walk': return `The walk reads the ${LEVEL[e.level] ?? e.level} entry at index ${e.index} (physical ${e.entryPa}): ${e.flags}${e.leaf ? '; this entry maps the page' : e.flags === 'empty' || e.flags === 'not-present' ? '' : '; it points to the next table'}.`;
    case 'walk_fault': return `The walk stops at the ${LEVEL[e.level] ?? e.level} entry: ${e.reason.replace(/-/g, ' ')}. The CPU will raise a page fault with error code 0x${e.errorCode.toString(16)}.`;
    case 'walk_ok': return `The walk succeeds: physical address ${e.pa}, a ${e.pageSize} page, ${e.rights} (the rights are combined across all levels).`;
    case 'ad_set': return `The CPU sets the ${e.bits === 'AD' ? 'accessed and dirty flags' : e.bits === 'A' ? 'accessed flag' : 'dirty flag'} in the ${LEVEL[e.level] ?? e.level} entry (SDM §4.8).`;
    case 'exception':
      return e.vector === 14 && e.errorCode !== undefined
        ? `Page fault (#PF, vector 14). CR2 holds the faulting address ${e.cr2}; the error code 0x${e.errorCode.toString(16)} says: ${explainPfError(e.errorCode).summary}.`
        : `Exception ${e.name} (vector ${e.vector})${e.errorCode !== undefined ? `, error code 0x${e.errorCode.toString(16)}` : ''}: ${e.reason}.`;
    case 'gate': return `The CPU reads IDT entry ${e.vector}: a 64-bit ${e.type} gate to ${e.offset}, code segment 0x${e.selector.toString(16)}, ${e.ist ? `IST ${e.ist}` : 'no IST'}, DPL ${e.dpl}.`;
    case 'stack_switch': return e.why === 'ist'
      ? `The gate names IST ${e.ist}: the CPU switches to that stack from the TSS (${e.to}).`
      : `The fault came from user mode: the CPU loads the kernel stack pointer from TSS.RSP0 (${e.to}) before pushing anything.`;
    case 'push': return `The CPU pushes ${e.what} = ${e.value} at ${e.addr}.`;
    case 'deliver': return `The CPU jumps to the handler at ${e.rip} at CPL ${e.cpl} with RSP ${e.rsp}${e.ifCleared ? '; interrupts are off (interrupt gate)' : ''}.${kernel === 'bare' ? ' The bare lab\'s handler only returns.' : ' Now the kernel runs.'}`;
    case 'iret': return `IRETQ pops RIP ${e.rip}, CS 0x${e.cs.toString(16)}, RFLAGS ${e.rflags}, RSP ${e.rsp}, SS 0x${e.ss.toString(16)}: back at CPL ${e.cpl}${e.cpl === 3 ? ', where the faulting instruction runs again' : ''}.`;
    case 'reg': return `${e.name.toUpperCase()} changes from ${e.old} to ${e.value}.`;
    case 'tlb_flush': return `The TLB drops ${e.entries} entr${e.entries === 1 ? 'y' : 'ies'} (${e.cause}).`;
    case 'enter': return `The kernel enters ${e.fn} (${e.src}).`;
    case 'leave': return `${e.fn} returns${e.ret !== undefined ? ` ${e.ret}` : ''}.`;
    case 'decision': return `${e.fn} decides: ${e.reason.replace(/-/g, ' ')}${e.detail ? ` (${e.detail})` : ''}.`;
    case 'pte_write': return `The kernel writes the ${LEVEL[e.level] ?? e.level} entry at physical ${e.entryPa}: ${e.old} → ${e.value} (${e.flags}).`;
    case 'frame': return `The kernel ${e.what === 'alloc' ? 'allocates' : 'frees'} physical frame ${e.pfn} (${e.why}).`;
    case 'signal': return `The kernel sends ${e.name} (${e.codeName}, address ${e.addr}) to pid ${e.pid}.`;
    case 'step_end': return `Step ${e.step} ends: ${e.outcome}.`;
    default: return '';
  }
}
