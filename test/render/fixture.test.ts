// Hand-written traces shared by the renderer tests: what the model emits for a user write to a
// not-present page on Linux (x86-64, 4-level paging), and for a user read of an unmapped address.
//
//   user VA 0x7f0000000000  PML4[0x0fe] -> PDPT[0x000] -> PD[0x000] -> PT[0x000] = 0 (not present)
//   CR3 = 0x1000, PDPT @0x2000, PD @0x3000, PT @0x4000; the kernel stack top (TSS.RSP0) 0xfffffe0000003000
//
// The file holds no tests (text.test.ts checks the fixtures are well formed): tests here would run
// again in every file that imports it. It matches the *.test.ts glob, so it runs as an empty file.

import type { EventName, TraceEvent } from '../../src/trace/events.js';

const VA = '0x7f0000000000';
const src = (file: string, fn: string): string => `${file}:${fn} (6.18)`;
const FAULT_C = 'arch/x86/mm/fault.c';
const MEMORY_C = 'mm/memory.c';
const MMAP_C = 'mm/mmap.c';

/** The CPU's part: access, TLB miss, walk to a not-present PTE, #PF delivery to CPL 0. */
export const cpuDemandFault: TraceEvent[] = [
  { ev: 'step', step: 1, line: 3, op: `write ${VA}`, proc: 'a.out', kernel: 'linux' },
  { ev: 'access', va: VA, access: 'write', size: 8, mode: 'user', implicit: false, cpl: 3 },
  { ev: 'tlb', what: 'miss', va: VA, pcid: 0 },
  { ev: 'walk', level: 'pml4', index: 0xfe, entryPa: '0x17f0', entry: '0x2067', flags: 'P RW US A', leaf: false },
  { ev: 'walk', level: 'pdpt', index: 0, entryPa: '0x2000', entry: '0x3067', flags: 'P RW US A', leaf: false },
  { ev: 'walk', level: 'pd', index: 0, entryPa: '0x3000', entry: '0x4067', flags: 'P RW US A', leaf: false },
  { ev: 'walk', level: 'pt', index: 0, entryPa: '0x4000', entry: '0x0', flags: '', leaf: false },
  { ev: 'walk_fault', level: 'pt', reason: 'not-present', errorCode: 6 },
  { ev: 'exception', vector: 14, name: '#PF', errorCode: 6, cr2: VA, reason: 'not-present page, write, user' },
  { ev: 'gate', vector: 14, gateVa: '0xfffffe00000000e0', offset: '0xffffffff81a00aa0', selector: 0x10, ist: 0, type: 'interrupt', dpl: 0 },
  { ev: 'stack_switch', from: '0x7ffe0000f000', to: '0xfffffe0000003000', why: 'privilege' },
  { ev: 'push', addr: '0xfffffe0000002ff8', value: '0x2b', what: 'SS' },
  { ev: 'push', addr: '0xfffffe0000002ff0', value: '0x7ffe0000f000', what: 'RSP' },
  { ev: 'push', addr: '0xfffffe0000002fe8', value: '0x246', what: 'RFLAGS' },
  { ev: 'push', addr: '0xfffffe0000002fe0', value: '0x33', what: 'CS' },
  { ev: 'push', addr: '0xfffffe0000002fd8', value: '0x401126', what: 'RIP' },
  { ev: 'push', addr: '0xfffffe0000002fd0', value: '0x6', what: 'error code' },
  { ev: 'deliver', vector: 14, rip: '0xffffffff81a00aa0', cs: 0x10, rsp: '0xfffffe0000002fd0', cpl: 0, ifCleared: true },
];

/** Linux's part: exc_page_fault down to do_anonymous_page, then back to user mode. */
export const linuxDemandFault: TraceEvent[] = [
  { ev: 'enter', fn: 'exc_page_fault', src: src(FAULT_C, 'exc_page_fault'), args: { error_code: '0x6' } },
  { ev: 'enter', fn: 'handle_page_fault', src: src(FAULT_C, 'handle_page_fault') },
  { ev: 'enter', fn: 'do_user_addr_fault', src: src(FAULT_C, 'do_user_addr_fault'), args: { address: VA } },
  { ev: 'enter', fn: 'lock_mm_and_find_vma', src: src(MMAP_C, 'lock_mm_and_find_vma') },
  { ev: 'leave', fn: 'lock_mm_and_find_vma', ret: 'vma [0x7f0000000000, 0x7f0000010000)' },
  { ev: 'decision', fn: 'do_user_addr_fault', reason: 'access-permitted', detail: 'VM_WRITE' },
  { ev: 'enter', fn: 'handle_mm_fault', src: src(MEMORY_C, 'handle_mm_fault') },
  { ev: 'enter', fn: 'handle_pte_fault', src: src(MEMORY_C, 'handle_pte_fault') },
  { ev: 'decision', fn: 'handle_pte_fault', reason: 'pte-none-anonymous' },
  { ev: 'enter', fn: 'do_anonymous_page', src: src(MEMORY_C, 'do_anonymous_page') },
  { ev: 'frame', what: 'alloc', pfn: '0x1234', why: 'anonymous page' },
  { ev: 'pte_write', level: 'pt', entryPa: '0x4000', old: '0x0', value: '0x8000000001234867', flags: 'P RW US A D NX', va: VA },
  { ev: 'leave', fn: 'do_anonymous_page', ret: '0' },
  { ev: 'leave', fn: 'handle_pte_fault' },
  { ev: 'leave', fn: 'handle_mm_fault', ret: '0' },
  { ev: 'leave', fn: 'do_user_addr_fault' },
  { ev: 'leave', fn: 'handle_page_fault' },
  { ev: 'leave', fn: 'exc_page_fault' },
  { ev: 'iret', rip: '0x401126', cs: 0x33, rflags: '0x246', rsp: '0x7ffe0000f000', ss: 0x2b, cpl: 3 },
  { ev: 'step_end', step: 1, outcome: 'ok' },
];

export const demandFault: TraceEvent[] = [...cpuDemandFault, ...linuxDemandFault];

/** A user read of address 0: no VMA, SIGSEGV with SEGV_MAPERR and the show_signal_msg line. */
export const segfault: TraceEvent[] = [
  { ev: 'step', step: 2, op: 'read 0x0', proc: 'a.out', kernel: 'linux' },
  { ev: 'exception', vector: 14, name: '#PF', errorCode: 4, cr2: '0x0', reason: 'not-present page, read, user' },
  { ev: 'enter', fn: 'do_user_addr_fault', src: src(FAULT_C, 'do_user_addr_fault') },
  { ev: 'enter', fn: 'lock_mm_and_find_vma', src: src(MMAP_C, 'lock_mm_and_find_vma') },
  { ev: 'leave', fn: 'lock_mm_and_find_vma', ret: 'NULL' },
  { ev: 'decision', fn: 'do_user_addr_fault', reason: 'no-vma' },
  { ev: 'enter', fn: 'bad_area_nosemaphore', src: src(FAULT_C, 'bad_area_nosemaphore') },
  { ev: 'log', text: 'a.out[1234]: segfault at 0 ip 0000000000401126 sp 00007ffe0000f000 error 4 in a.out[401000+1000]' },
  { ev: 'signal', pid: 1234, signo: 11, name: 'SIGSEGV', code: 1, codeName: 'SEGV_MAPERR', addr: '0x0', trapno: 14, err: 4 },
  { ev: 'leave', fn: 'bad_area_nosemaphore' },
  { ev: 'leave', fn: 'do_user_addr_fault' },
  { ev: 'step_end', step: 2, outcome: 'SIGSEGV' },
];

/**
 * One event of every type. Typed by event name, so adding a type to the union breaks the build
 * here until the renderers' tests cover it.
 */
export const oneOfEach: { [K in EventName]: Extract<TraceEvent, { ev: K }> } = {
  step: { ev: 'step', step: 1, op: 'read 0x1000', proc: 'p', kernel: 'xnu' },
  step_end: { ev: 'step_end', step: 1, outcome: 'ok' },
  access: { ev: 'access', va: '0xfffffe00000000e0', access: 'read', size: 8, mode: 'supervisor', implicit: true, cpl: 3, what: 'IDT gate' },
  access_done: { ev: 'access_done', va: '0x1000', pa: '0x5000', value: '0x2a' },
  tlb: { ev: 'tlb', what: 'fill', va: '0x1000', pcid: 1, pageSize: '4k', pa: '0x5000', global: true },
  tlb_flush: { ev: 'tlb_flush', cause: 'invlpg', va: '0x1000', pcid: 1, entries: 1 },
  walk: { ev: 'walk', level: 'pd', index: 0x1ff, entryPa: '0x3ff8', entry: '0x2000e7', flags: 'P RW A D PS', leaf: true },
  walk_fault: { ev: 'walk_fault', level: 'pml4', reason: 'reserved-bit', errorCode: 0xd },
  walk_ok: { ev: 'walk_ok', pa: '0x5000', pageSize: '2m', rights: 'RW U NX', pkey: 0 },
  ad_set: { ev: 'ad_set', level: 'pt', entryPa: '0x4008', bits: 'AD', entry: '0x5067' },
  exception: { ev: 'exception', vector: 13, name: '#GP', errorCode: 0, reason: 'non-canonical address' },
  double_fault: { ev: 'double_fault', first: 14, second: 14 },
  shutdown: { ev: 'shutdown', reason: 'triple-fault', vector: 8 },
  gate: { ev: 'gate', vector: 8, gateVa: '0xfffffe0000000080', offset: '0xffffffff81a01000', selector: 0x10, ist: 2, type: 'interrupt', dpl: 0 },
  stack_switch: { ev: 'stack_switch', from: '0xffffc90000003f00', to: '0xfffffe0000009000', why: 'ist', ist: 2 },
  push: { ev: 'push', addr: '0xfffffe0000008ff8', value: '0x18', what: 'SS' },
  pop: { ev: 'pop', addr: '0xfffffe0000008ff8', value: '0x18', what: 'SS' },
  deliver: { ev: 'deliver', vector: 8, rip: '0xffffffff81a01000', cs: 0x10, rsp: '0xfffffe0000008fd0', cpl: 0, ifCleared: false },
  iret: { ev: 'iret', rip: '0x401000', cs: 0x33, rflags: '0x202', rsp: '0x7ffe0000f000', ss: 0x2b, cpl: 3 },
  reg: { ev: 'reg', name: 'cr3', old: '0x1000', value: '0x9000' },
  enter: { ev: 'enter', fn: 'vm_fault_internal', src: 'osfmk/vm/vm_fault.c:vm_fault_internal (xnu-11215)' },
  leave: { ev: 'leave', fn: 'vm_fault_internal', ret: 'KERN_SUCCESS' },
  decision: { ev: 'decision', fn: 'vm_fault_page', reason: 'zero-fill', detail: 'object 0x1' },
  pte_write: { ev: 'pte_write', level: 'pt', entryPa: '0x4008', old: '0x5067', value: '0x5065', flags: 'P US A' },
  frame: { ev: 'frame', what: 'free', pfn: '0x5', why: 'unmap' },
  signal: { ev: 'signal', pid: 7, signo: 10, name: 'SIGBUS', code: 2, codeName: 'BUS_ADRERR', addr: '0x1000' },
  log: { ev: 'log', text: 'panic(cpu 0 caller 0xffffff8000000000): Kernel trap at 0x0, type 14=page fault' },
  pt_regs: { ev: 'pt_regs', fn: 'sync_regs', addr: '0xffffc90000003f58', regs: { r15: '0x0', orig_ax: '0x6', ip: '0x401000', cs: '0x33' } },
};
