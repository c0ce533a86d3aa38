// The main stack on xnu-11417 (create_unix_stack, bsd/kern/kern_exec.c) and the stack rule of
// ux_exception (xnu.md §10 checklist 16). Address space (USRSTACK64 = 0x7ff7bff00000):
//
//   [USRSTACK64-64M, USRSTACK64-8M)  ---/rwx  the guard (VM_PROT_NONE)
//   [USRSTACK64-8M,  USRSTACK64)     rw-/rwx  the usable stack (RLIMIT_STACK)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisions, session, stepEvents } from './helpers.js';
import { entriesOf } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import { USRSTACK64, VM_MEMORY_STACK } from '../../../src/kernel/xnu/bsd/kern/mach_loader.js';

test('create_unix_stack: MAXSSIZ allocated below USRSTACK64, all but 8 MiB protected to NONE, tagged VM_MEMORY_STACK', () => {
  const { s } = session(['- getentropy: {addr: stack-16, length: 8}']);
  const entries = entriesOf(s.k.tasks[0]!.map).filter((e) => e.vme_alias === VM_MEMORY_STACK);
  assert.deepEqual(entries.map((e) => [e.vme_start, e.vme_end, e.protection, e.max_protection]), [
    [USRSTACK64 - 0x4000000, USRSTACK64 - 0x800000, 0, 7],
    [USRSTACK64 - 0x800000, USRSTACK64, 3, 7],
  ]);
  assert.equal(s.k.tasks[0]!.proc.user_stack, USRSTACK64);
});

test('checklist 16: KERN_PROTECTION_FAILURE within 64 MiB below user_stack is SIGSEGV (SEGV_ACCERR); elsewhere SIGBUS', () => {
  const { results, events } = session([
    '- read: {addr: stack-0x800008}', '- read: {addr: stack-0x4000000}', '- read: {addr: stack-0x4000008}',
    '- mmap: {as: h, length: 4k, prot: none, flags: [private, anonymous]}', '- read: {addr: h}',
  ]);
  assert.deepEqual(results.map((r) => r.signal?.name), ['SIGSEGV', 'SIGSEGV', 'SIGSEGV', undefined, 'SIGBUS']);
  assert.deepEqual(results.map((r) => r.mach_exception?.code), [2, 2, 1, undefined, 2]);
  assert.deepEqual(decisions(stepEvents(events, 1), 'ux_exception'), ['stack-guard-sigsegv']);
  assert.deepEqual(decisions(stepEvents(events, 3), 'ux_exception'), ['invalid-address-sigsegv']);
  assert.equal(results[0]!.signal?.code, 2);
});

test('the stack rule with SIGSEGV not SA_ONSTACK (signals: default): the default action kills', () => {
  const { results, s } = session(['- write: {addr: stack-0x900000, value: 1}'], { signals: 'default' });
  assert.equal(results[0]!.outcome, 'signal');
  assert.equal(s.k.tasks[0]!.proc.exited, true);
  assert.equal(s.k.tasks[0]!.proc.p_xsig, 11);
});
