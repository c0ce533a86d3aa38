// The trap entry and return path of idt64.s, run on the seed program (mmap one page, write 'A'):
// what the CPU pushes, what the stub and ks_dispatch copy, the saved state at its real offsets,
// and the way back through ks_64bit_return and iretq.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceEvent } from '../../../src/trace/events.js';
import { R64 } from '../../../src/kernel/xnu/osfmk/x86_64/hib.js';
import { kread } from '../../../src/kernel/xnu/osfmk/x86_64/kaccess.js';
import { MemorySink } from '../../../src/trace/events.js';
import { boot, decisions, entered, run, assertPassed } from './helpers.js';

const SEED = [
  "- mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}",
  '- write: {addr: buf, value: "A"}',
];

function writeStep(events: readonly TraceEvent[]): TraceEvent[] {
  const i = events.findIndex((e) => e.ev === 'step' && e.step === 2);
  const j = events.findIndex((e) => e.ev === 'step_end' && e.step === 2);
  return events.slice(i, j);
}

test('the article\'s path, label by label, from the IDT entry to iretq', () => {
  const r = run(SEED);
  const fns = entered(writeStep(r.events));
  const want = ['idt64_page_fault', 'L_dispatch', 'L_dispatch_kgsb', 'ks_dispatch', 'ks_dispatch_user', 'L_dispatch_U64', 'L_dispatch_64bit',
    'L_common_dispatch', 'hndl_alltraps', 'user_trap', 'vm_fault', 'vm_fault_internal', 'vm_map_lookup_and_lock_object'];
  assert.deepEqual(fns.slice(0, want.length), want);
  const tail = ['return_from_trap', 'ret_to_user', 'ks_64bit_return', 'L_chk_sysret', 'ret64_iret'];
  assert.deepEqual(fns.slice(-tail.length), tail);
  assert.equal(r.results[1]!.outcome, 'ok');
  assert.equal(r.results[1]!.value, '0x41');
});

test('checklist 5: a user #PF switches to TSS.rsp0 (the estack alias), pushes ss, rsp, rflags, cs, rip, err; IF cleared; CR2 = VA', () => {
  const ev = writeStep(run(SEED).events);
  const sw = ev.find((e) => e.ev === 'stack_switch');
  assert.ok(sw && sw.ev === 'stack_switch' && sw.why === 'privilege');
  assert.match(sw.to, /^0xfffff6/, 'rsp0 is in the double map');
  const pushes = ev.filter((e) => e.ev === 'push').slice(0, 6).map((e) => (e.ev === 'push' ? e.what : ''));
  assert.deepEqual(pushes, ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP', 'error code']);
  const d = ev.find((e) => e.ev === 'deliver');
  assert.ok(d && d.ev === 'deliver' && d.ifCleared && d.vector === 14);
  const ex = ev.find((e) => e.ev === 'exception');
  assert.ok(ex && ex.ev === 'exception' && ex.cr2 === '0x108000000' && ex.errorCode === 6);
});

test('checklist 6: the stub pushes trapfn HNDL_ALLTRAPS (1) then trapno T_PAGE_FAULT (14)', () => {
  const ev = writeStep(run(SEED).events);
  const pushes = ev.filter((e) => e.ev === 'push').map((e) => (e.ev === 'push' ? [e.what, e.value] : []));
  assert.deepEqual(pushes.slice(6, 8), [['trapfn HNDL_ALLTRAPS', '0x1'], ['trapno T_PAGE_FAULT', '0xe']]);
});

test('checklist 7: L_dispatch swapgs and loads the task CR3 only from user; a kernel fault (copyout) does neither', () => {
  const ev = writeStep(run(SEED).events);
  assert.deepEqual(decisions(ev, 'L_dispatch'), ['from-user']);
  const gs = ev.filter((e) => e.ev === 'reg' && e.name === 'gs.base');
  assert.ok(gs.length >= 2, 'swapgs on entry and on exit');
  const r = run(["- mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}", '- getentropy: {addr: buf, length: 16}']);
  const kev = r.events.slice(r.events.findIndex((e) => e.ev === 'step' && e.step === 2));
  assert.deepEqual(decisions(kev, 'L_dispatch'), ['from-kernel']);
  assert.deepEqual(decisions(kev, 'ks_dispatch'), ['kernel-cs']);
});

test('checklist 8: ks_dispatch copies ss..trapno onto the PCB isf; r15 = &iss, RSP = the kernel stack', () => {
  const ev = writeStep(run(SEED).events);
  const isf = ev.filter((e) => e.ev === 'push' && e.what.startsWith('isf ')).map((e) => (e.ev === 'push' ? e.what : ''));
  assert.deepEqual(isf, ['isf SS', 'isf RSP', 'isf RFLAGS', 'isf CS', 'isf RIP', 'isf ERR', 'isf TRAPFN', 'isf TRAPNO']);
  const last = ev.filter((e) => e.ev === 'push' && e.what === 'isf TRAPNO')[0];
  assert.ok(last && last.ev === 'push');
  // The last push lands at iss + ISS64_OFFSET (160): the saved state begins 160 bytes below.
  const log = ev.find((e) => e.ev === 'log' && e.text.startsWith('(x86_saved_state_t *)'));
  assert.ok(log && log.ev === 'log');
  const iss = BigInt(log.text.split(' ')[2]!);
  assert.equal(BigInt(last.addr), iss + 160n);
});

test('checklist 9, 10, 11: saved state at the real offsets; ecx/edi/r8-r14 zeroed; cr2 saved only for T_PAGE_FAULT', () => {
  const s = boot({ seed: 1 });
  const k = s.k;
  const sink = new MemorySink();
  s.machine.trace = sink;
  const regsBefore = { ...s.machine.cpu.gpr };
  const r1 = s.run({ op: 'mmap', args: { as: 'buf', length: 4096n, prot: 'rw', flags: ['private', 'anonymous'] }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 1, proc: 'main', op: 'mmap' });
  assert.equal(r1.outcome, 'ok');
  s.run({ op: 'write', args: { addr: { terms: [{ sign: 1, name: 'buf' }] }, size: 1, value: 0x41n }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 2, proc: 'main', op: 'write' });
  const iss = k.tasks[0]!.thread.iss;
  const rd = (off: number, size = 8) => kread(k, iss + BigInt(off), size);
  assert.equal(k.hwIntCnt[14], 1, 'checklist 11: hwIntCnt[T_PAGE_FAULT]++ once');
  const userRegs = { ...s.machine.cpu.gpr };
  // Read the PCB as the kernel would: CPL 0 on the kernel CR3 (it is not mapped in the user table).
  s.machine.cpu.cs = 0x08;
  s.machine.movToCr3(BigInt(k.tasks[0]!.map.pmap.pml4));
  assert.equal(rd(0, 4), 15n, 'flavor SS_64');
  assert.equal(rd(R64.rdi), regsBefore.rdi);
  assert.equal(rd(R64.cr2), 0x108000000n);
  assert.equal(rd(R64.r15), regsBefore.r15);
  assert.equal(rd(R64.rax), regsBefore.rax);
  assert.equal(rd(R64.trapno, 2), 14n);
  assert.equal(rd(R64.err), 6n);
  assert.equal(rd(R64.rip), 0x100003f50n);
  assert.equal(rd(R64.cs), 0x2bn);
  assert.equal(rd(R64.ss), 0x23n);
  assert.deepEqual([R64.rdi, R64.cr2, R64.r15, R64.rax, R64.trapno, R64.err, R64.rip, R64.cs, R64.rflags, R64.rsp, R64.ss], [16, 64, 72, 136, 160, 176, 184, 192, 200, 208, 216]);
  // After the return, the user registers are those saved (restored from the PCB), none zeroed.
  for (const name of ['rcx', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14'] as const) assert.equal(userRegs[name], regsBefore[name], name);
  const zeroing = sink.events.filter((e) => e.ev === 'decision' && e.fn === 'L_dispatch_64bit').map((e) => (e.ev === 'decision' ? e.reason : ''));
  assert.deepEqual(zeroing, ['save-cr2']);
});

test('checklist 57: the return path: AST check, GPR restore, RSP = estack, iret frame, CR3 = UCR3, swapgs, iretq to the same RIP', () => {
  const ev = writeStep(run(SEED).events);
  assert.deepEqual(decisions(ev, 'return_from_trap'), ['no-ast-pending']);
  const frame = ev.filter((e) => e.ev === 'push' && e.what.startsWith('iret frame')).map((e) => (e.ev === 'push' ? e.what : ''));
  assert.deepEqual(frame, ['iret frame SS', 'iret frame RSP', 'iret frame RFLAGS', 'iret frame CS', 'iret frame RIP']);
  assert.deepEqual(decisions(ev, 'ks_64bit_return'), ['to-user']);
  const iret = ev.find((e) => e.ev === 'iret');
  assert.ok(iret && iret.ev === 'iret' && iret.rip === '0x100003f50' && iret.cpl === 3 && iret.cs === 0x2b);
  const cr3 = ev.filter((e) => e.ev === 'reg' && e.name === 'cr3');
  assert.equal(cr3.length, 2, 'to the kernel CR3 and back to the user-only CR3');
});

test('the seed scenario\'s expectations hold', () => {
  assertPassed(run([...SEED, '- read: {addr: buf}', '  expect: {value: 0x41}']));
});

test('no global state: two XNU machines run interleaved give the same results as each alone', () => {
  const steps = [
    { op: 'mmap', args: { as: 'buf', length: 8192n, prot: 'rw', flags: ['private', 'anonymous'] }, proc: 'main' },
    { op: 'write', args: { addr: { terms: [{ sign: 1, name: 'buf' }] }, size: 1, value: 0x41n }, proc: 'main' },
    { op: 'fork', args: { as: 'c' }, proc: 'main' },
    { op: 'write', args: { addr: { terms: [{ sign: 1, name: 'buf' }] }, size: 1, value: 0x42n }, proc: 'c' },
    { op: 'read', args: { addr: { terms: [{ sign: 1, name: 'buf' }] }, size: 1 }, proc: 'main' },
  ];
  const runAll = (s: ReturnType<typeof boot>, i: number) => s.run(steps[i] as never, { kernel: 'xnu-11417', step: i + 1, proc: steps[i]!.proc, op: steps[i]!.op });
  const alone = (seed: number) => {
    const s = boot({ seed });
    return steps.map((_, i) => runAll(s, i));
  };
  const a = boot({ seed: 1 });
  const b = boot({ seed: 2 });
  const ra: unknown[] = [];
  const rb: unknown[] = [];
  steps.forEach((_, i) => {
    ra.push(runAll(a, i));
    rb.push(runAll(b, i));
  });
  assert.deepEqual(ra, alone(1));
  assert.deepEqual(rb, alone(2));
  assert.notEqual(a.k.randL3, b.k.randL3);
});

test('checklist 11: a thread with debug state gets DR7 cleared on entry and its debug registers loaded on return', () => {
  const s = boot({ seed: 1 });
  const sink = new MemorySink();
  s.machine.trace = sink;
  s.k.tasks[0]!.thread.ids = true;
  s.run({ op: 'mmap', args: { as: 'buf', length: 4096n, prot: 'rw', flags: ['private', 'anonymous'] }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 1, proc: 'main', op: 'mmap' });
  s.run({ op: 'write', args: { addr: { terms: [{ sign: 1, name: 'buf' }] }, size: 1, value: 1n }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 2, proc: 'main', op: 'write' });
  assert.deepEqual(decisions(sink.events, 'L_set_act'), ['debug-state-dr7-zeroed']);
  assert.deepEqual(decisions(sink.events, 'ret_to_user'), ['load-debug-registers']);
});
