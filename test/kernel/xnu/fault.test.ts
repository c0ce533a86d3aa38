// user_trap, the exception path and vm_fault's decisions, each test naming its checklist item
// (xnu.md §10). Address-space diagrams: `buf` is one RW anonymous entry at 0x108000000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protFromErr } from '../../../src/kernel/xnu/osfmk/i386/trap.js';
import { ux_exception } from '../../../src/kernel/xnu/bsd/uxkern/ux_exception.js';
import { DBG_CACHE_HIT_FAULT, DBG_COW_FAULT, DBG_ZERO_FILL_FAULT } from '../../../src/kernel/xnu/osfmk/vm/vm_fault.js';
import { vm_map_lookup_entry } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import { VM_PAGE_ON_ACTIVE_LOCAL_Q } from '../../../src/kernel/xnu/osfmk/vm/vm_page.js';
import { pmap_find_phys, pmap_mapping_count } from '../../../src/kernel/xnu/osfmk/x86_64/pmap.js';
import { parseExpr } from '../../../src/workload/scenario/expr.js';
import { decisions, entered, session, stepEvents } from './helpers.js';

const MMAP = '- mmap: {as: buf, length: 8k, prot: rw, flags: [private, anonymous]}';
const BUF = 0x108000000;

test('checklist 12: prot = READ | WRITE(err&2) | EXECUTE(err&0x10); P, U, RSVD ignored', () => {
  const cases: [number, number][] = [[0x4, 1], [0x6, 3], [0x7, 3], [0x5, 1], [0x15, 5], [0x14, 5], [0xd, 1], [0x0, 1], [0x1f, 7]];
  for (const [err, prot] of cases) assert.equal(protFromErr(err), prot, `err ${err.toString(16)}`);
});

test('checklist 13: vm_fault(thread->map, cr2, prot, FALSE, VM_KERN_MEMORY_NONE, THREAD_ABORTSAFE, NULL, 0)', () => {
  const { events } = session([MMAP, '- write: {addr: buf+8, value: 1}']);
  const call = events.find((e) => e.ev === 'enter' && e.fn === 'vm_fault');
  assert.ok(call && call.ev === 'enter');
  assert.deepEqual(call.args, {
    map: 'thread->map', vaddr: '0x108000008', fault_type: 'rw-', change_wiring: 'false', wire_tag: 'VM_KERN_MEMORY_NONE',
    interruptible: 'THREAD_ABORTSAFE', caller_pmap: 'NULL', caller_pmap_addr: '0',
  });
});

test('checklist 14: SUCCESS resumes at the same RIP; ABORTED resumes too; other codes raise EXC_BAD_ACCESS(kr, cr2)', () => {
  const ok = session([MMAP, '- write: {addr: buf, value: 1}']);
  assert.deepEqual(decisions(ok.events, 'user_trap').slice(-1), ['resume']);
  const iret = ok.events.find((e) => e.ev === 'iret');
  assert.ok(iret && iret.ev === 'iret' && iret.rip === '0x100003f50');
  const bad = session([MMAP, '- read: {addr: 0x200000010}']);
  assert.deepEqual(bad.results[1]!.mach_exception, { type: 1, code: 1, subcode: '0x200000010' });
  // No page can be freed (everything wired) and the faulting task is the largest: memorystatus
  // kills it, its vm_page_wait is interrupted, vm_fault returns KERN_ABORTED (checklist 39), and
  // the SIGKILL is delivered on the way back to user mode.
  const starved = session([
    '- mmap: {as: big, length: 1m, prot: rw, flags: [private, anonymous]}',
    '- mlock: {addr: big, length: 1m}',
  ], { ram: 0x500000 });
  const last = starved.results[1]!;
  assert.equal(last.outcome, 'error');
  assert.ok(decisions(starved.events, 'vm_page_wait').includes('current-task-killed'));
  assert.ok(decisions(starved.events, 'vm_fault_internal').includes('memory-shortage-aborted'));
  assert.match(starved.s.k.jetsamLog[0] ?? '', /memorystatus: killing_top_process pid 100 \[main\] \(vm-pageshortage 180\)/);
});

test('checklist 14: KERN_FAILURE from a user fault (th_vm_faults_disabled) panics: the machine stops', () => {
  const { s } = session([MMAP]);
  s.k.tasks[0]!.thread.vm_faults_disabled = true;
  const r = s.run({ op: 'write', args: { addr: parseExpr(BUF), size: 1, value: 1n }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 2, proc: 'main', op: 'write' });
  assert.equal(r.outcome, 'killed');
  assert.match(r.message ?? '', /vm_fault\(\) KERN_FAILURE from user fault/);
  assert.equal(s.k.stats.faults, 0, 'checklist 20: not counted (it fails before V4)');
});

test('checklist 15: exception ports tried thread, task, then the host ux_handler; code 1 SIGSEGV, others SIGBUS', () => {
  const { events, s } = session([MMAP, '- read: {addr: 0x200000000}', '- mprotect: {addr: buf, length: 4k, prot: none}', '- read: {addr: buf}']);
  assert.deepEqual(decisions(stepEvents(events, 2), 'exception_triage_thread'), ['no-thread-port', 'no-task-port']);
  assert.ok(entered(stepEvents(events, 2)).includes('catch_mach_exception_raise'));
  assert.deepEqual(decisions(stepEvents(events, 2), 'ux_exception'), ['invalid-address-sigsegv']);
  assert.deepEqual(decisions(stepEvents(events, 4), 'ux_exception'), ['other-code-sigbus']);
  const k = s.k;
  k.current = k.tasks[0]!;
  for (const code of [2, 9, 10, 5]) assert.equal(ux_exception(k, 1, code, 0x200000000n), 10, `code ${code}`);
  assert.equal(ux_exception(k, 1, 1, 0x200000000n), 11);
  assert.equal(ux_exception(k, 1, 13, 0n), 11, 'EXC_I386_GPFLT is SIGSEGV');
});

test('checklist 16: PROTECTION_FAILURE in [user_stack - 64 MiB, user_stack) becomes SIGSEGV', () => {
  const { s } = session([MMAP]);
  const k = s.k;
  k.current = k.tasks[0]!;
  const top = BigInt(k.current.proc.user_stack);
  assert.equal(ux_exception(k, 1, 2, top - 1n), 11);
  assert.equal(ux_exception(k, 1, 2, top - 64n * 1024n * 1024n), 11);
  assert.equal(ux_exception(k, 1, 2, top - 64n * 1024n * 1024n - 1n), 10);
  assert.equal(ux_exception(k, 1, 2, top), 10);
});

test('checklist 17: si_code SEGV_MAPERR / SEGV_ACCERR / BUS_ADRERR, si_addr = cr2; the default action kills with a core', () => {
  const { results } = session([MMAP, '- read: {addr: 0x200000008}', '- exec: {addr: stack-16}', '- mprotect: {addr: buf, length: 4k, prot: r}', '- write: {addr: buf+3, value: 1}']);
  assert.deepEqual([results[1]!.signal!.code, results[1]!.signal!.addr], [1, '0x200000008']);
  assert.deepEqual([results[2]!.signal!.name, results[2]!.signal!.code], ['SIGSEGV', 2]);
  assert.deepEqual([results[4]!.signal!.name, results[4]!.signal!.code, results[4]!.signal!.addr], ['SIGBUS', 2, '0x108000003']);
  const dead = session([MMAP, '- read: {addr: 0x200000008}'], { signals: 'default' });
  assert.match(dead.results[1]!.message ?? '', /killed by SIGSEGV \(core dumped\)/);
  assert.equal(dead.s.k.tasks[0]!.proc.exited, true);
  assert.deepEqual(decisions(dead.events, 'postsig_locked'), ['default-kill-core']);
});

test('checklist 18: below min_offset (__PAGEZERO), above max, in a hole: KERN_INVALID_ADDRESS', () => {
  const { results } = session([MMAP, '- read: {addr: 0xfff}', '- read: {addr: 0xfffff000}', '- read: {addr: 0x7fffffe00000}', '- read: {addr: buf+8k}']);
  for (const r of results.slice(1)) assert.deepEqual([r.outcome, r.mach_exception?.code, r.signal?.name], ['signal', 1, 'SIGSEGV'], JSON.stringify(r));
});

test('checklist 19: an entry whose protection lacks the access: KERN_PROTECTION_FAILURE (SIGBUS)', () => {
  const { results, events } = session(['- mmap: {as: ro, length: 4k, prot: r, flags: [private, anonymous]}', '- write: {addr: ro, value: 1}']);
  assert.equal(results[1]!.mach_exception?.code, 2);
  assert.ok(decisions(events, 'vm_map_lookup_and_lock_object').includes('protection-failure'));
});

test('checklist 20: faults++ (global and task) once per vm_fault call, failures included', () => {
  const { s } = session([MMAP, '- write: {addr: buf, value: 1}', '- read: {addr: buf}', '- read: {addr: 0x200000000}', '- read: {addr: buf+4k}']);
  const k = s.k;
  assert.equal(k.stats.faults, 3, 'write zero fill, failed read, read zero fill; the TLB-hit read takes no fault');
  assert.equal(k.tasks[0]!.faults, 3);
});

test('checklist 21: the lookup tries map->hint first, then the tree; a miss returns the predecessor or the header', () => {
  const { events, s } = session([MMAP, '- mmap: {as: b2, length: 4k, prot: r, flags: [private, anonymous]}', '- read: {addr: b2}', '- read: {addr: buf}']);
  assert.deepEqual(decisions(stepEvents(events, 3), 'vm_map_lookup_and_lock_object').slice(0, 1), ['hint-hit'], 'the hint is the entry just inserted');
  assert.deepEqual(decisions(stepEvents(events, 4), 'vm_map_lookup_and_lock_object').slice(0, 1), ['tree-hit']);
  const map = s.k.tasks[0]!.map;
  const miss = vm_map_lookup_entry(map, BUF + 0x3000);
  assert.equal(miss.found, false);
  assert.equal(miss.entry.vme_start, BUF + 0x2000, 'predecessor');
  const low = vm_map_lookup_entry(map, 0x100000000);
  assert.deepEqual([low.found, low.entry.isHeader], [false, true]);
});

test('checklist 23: the first fault on an object-less entry creates an internal SYMMETRIC object of the entry size at offset 0', () => {
  const { s } = session([MMAP, '- read: {addr: buf+4k}']);
  const e = vm_map_lookup_entry(s.k.tasks[0]!.map, BUF).entry;
  assert.ok(e.object);
  assert.deepEqual([e.object.vo_size, e.vme_offset, e.object.copy_strategy, e.object.internal, e.object.ref_count], [0x2000, 0, 4, true, 1]);
});

test('checklist 27, 28: resident in the top object: soft CACHE_HIT; a read maps a never-written page read-only, the next write faults and maps RW', () => {
  const { s, events, results } = session([MMAP, '- read: {addr: buf}', '- mprotect: {addr: buf, length: 4k, prot: none}', '- mprotect: {addr: buf, length: 4k, prot: rw}', '- read: {addr: buf}', '- write: {addr: buf, value: 5}']);
  const k = s.k;
  assert.equal(results[4]!.page!.writable, false);
  assert.ok(decisions(stepEvents(events, 5), 'vm_fault_internal').includes('resident-in-top-soft-fault'));
  assert.ok(decisions(stepEvents(events, 5), 'vm_fault_enter_prepare').includes('read-fault-never-wpmapped-strip-write'));
  assert.deepEqual([results[5]!.faults![0]!.error_code, results[5]!.page!.writable], [7, true]);
  assert.equal(k.lastFaultType, DBG_CACHE_HIT_FAULT);
  assert.deepEqual([k.stats.zero_fill_count, k.stats.cow_faults, k.stats.faults], [1, 0, 3]);
});

test('checklist 32, 33, 43: zero fill in the TOP object, zero_fill_count++, a read maps RW, the page goes to the local active queue', () => {
  const { s, results } = session([MMAP, '- read: {addr: buf+4k}']);
  const k = s.k;
  const e = vm_map_lookup_entry(k.tasks[0]!.map, BUF).entry;
  const m = e.object!.memq.get(0x1000)!;
  assert.equal(m.vmp_object, e.object);
  assert.equal(e.object!.resident_page_count, 1);
  assert.equal(m.vmp_q_state, VM_PAGE_ON_ACTIVE_LOCAL_Q);
  assert.equal(k.stats.zero_fill_count, 1);
  assert.equal(k.lastFaultType, DBG_ZERO_FILL_FAULT);
  assert.equal(results[1]!.page!.writable, true);
});

test('checklist 42: PTE = frame | P | US, RW only with WRITE, NX unless EXECUTE; remapping the same page changes only its rights', () => {
  const { s, events } = session([MMAP, '- read: {addr: buf}', '- mprotect: {addr: buf, length: 4k, prot: none}', '- mprotect: {addr: buf, length: 4k, prot: rw}', '- read: {addr: buf}', '- write: {addr: buf, value: 1}']);
  const writes = events.filter((e) => e.ev === 'pte_write' && e.level === 'pt' && e.va === '0x108000000').map((e) => (e.ev === 'pte_write' ? e.flags : ''));
  assert.deepEqual(writes, ['P RW US NX', '', 'P US NX', 'P RW US NX']);
  assert.deepEqual(decisions(stepEvents(events, 6), 'pmap_enter_options'), ['same-page-attributes-only']);
  const k = s.k;
  assert.equal(pmap_mapping_count(k, pmap_find_phys(k, k.tasks[0]!.map.pmap, BUF)), 1);
});

test('checklist 38 (severed shadow): vm_fault gives KERN_MEMORY_ERROR, which is SIGBUS with code 10', () => {
  const { s } = session([MMAP, '- read: {addr: buf}']);
  const e = vm_map_lookup_entry(s.k.tasks[0]!.map, BUF).entry;
  e.object!.shadow_severed = true;
  const step = { op: 'read', args: { addr: parseExpr(BUF + 0x1000), size: 1 }, proc: 'main' } as never;
  const r = s.run(step, { kernel: 'xnu-11417', step: 3, proc: 'main', op: 'read' });
  assert.deepEqual([r.signal?.name, r.mach_exception?.code], ['SIGBUS', 10]);
});

test('COW bookkeeping: DBG_COW_FAULT after fork', () => {
  const { s } = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}', '- write: {addr: buf, value: 2}']);
  assert.equal(s.k.lastFaultType, DBG_COW_FAULT);
});
