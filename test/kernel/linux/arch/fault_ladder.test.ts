// Per-decision tests of arch/x86/mm/fault.c: each exit of do_user_addr_fault's ladder (5.19 and
// 6.18 orders), the kernel-address path, and the exact printk lines (segfault, oops, #GP).
//
//   0x400000 [text r-x]   0x7ffff7ffe000 [mmaps ...]   0x7ffffffde000 [stack, grows down] 0x7ffffffff000

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { THREAD_SIZE } from '../../../../src/kernel/linux/arch/x86/include/asm/processor.js';
import { FRAME_SIZE, PT_REGS_FIELDS, PtRegs, type PtRegsField } from '../../../../src/kernel/linux/arch/x86/include/asm/ptrace.js';
import { do_user_addr_fault } from '../../../../src/kernel/linux/arch/x86/mm/fault.js';
import type { Booted } from './boot.js';
import { boot, decisions, entered, VERSIONS } from './boot.js';

const MAPERR = 1;
const ACCERR = 2;

/** Kernel-mode regs at the top of the current task's stack, with the kernel page tables loaded. */
function kernelRegs(b: Booted, over: Partial<Record<PtRegsField, bigint>>): PtRegs {
  const k = b.s.k;
  const m = b.s.m;
  m.movToCr3(m.cpu.cr3 & ~0x1800n);
  m.cpu.cs = 0x10;
  const v = Object.fromEntries(PT_REGS_FIELDS.map((f) => [f, 0n])) as Record<PtRegsField, bigint>;
  Object.assign(v, { cs: 0x10n, ss: 0x18n, flags: 0x202n, ip: 0xffffffff81600080n, sp: k.current.stack + 0x3000n }, over);
  return new PtRegs(k.current.stack + BigInt(THREAD_SIZE - FRAME_SIZE), v);
}

for (const v of VERSIONS) {
  const six = v !== '5.19';
  describe(`linux ${v}: do_user_addr_fault`, () => {
    test('checklist 6: no VMA at or above the address: SEGV_MAPERR, handle_mm_fault never called, no fault counted', () => {
      const b = boot(v);
      const [r] = b.steps('  - read: {addr: 0x1000}\n');
      assert.deepEqual(r!.signal, { signo: 11, name: 'SIGSEGV', code: MAPERR, addr: '0x1000', trapno: 14, err: 4 });
      assert.equal(r!.minflt, 0);
      assert.ok(!entered(b.sink.events).includes('handle_mm_fault'));
      if (six) assert.ok(decisions(b.sink.events, 'do_user_addr_fault').includes('lock_mm_and_find_vma-failed'));
      else assert.ok(decisions(b.sink.events, 'do_user_addr_fault').includes('below-vma-not-growsdown'), 'the text VMA lies above 0x1000');
      assert.equal(b.s.k.perf.page_faults, 1, 'PERF_COUNT_SW_PAGE_FAULTS counts it anyway');
    });

    test(`checklist 59: a second fault in a VMA: ${six ? 'handled under the per-VMA lock (lock_vma_under_rcu)' : 'mmap_read_trylock + find_vma (no per-VMA lock in 5.19)'}`, () => {
      const b = boot(v);
      b.steps('  - mmap: {as: a, length: 8k, prot: rw, flags: [private, anonymous]}\n  - write: {addr: a, value: 1}\n');
      b.sink.events.length = 0;
      const [r] = b.steps('  - write: {addr: 0x7ffff7ffe000, value: 2}\n');
      assert.equal(r!.minflt, 1);
      const d = decisions(b.sink.events, 'do_user_addr_fault');
      assert.equal(d.includes('per-vma-lock'), six, d.join(','));
      assert.equal(entered(b.sink.events).includes('mmap_read_trylock'), !six);
    });

    test('checklist 7: a write to a VMA without VM_WRITE: access_error, SEGV_ACCERR, nothing allocated', () => {
      const b = boot(v);
      const [, r] = b.steps('  - mmap: {as: ro, length: 4k, prot: r, flags: [private, anonymous]}\n  - write: {addr: ro, value: 1}\n');
      assert.equal(r!.signal?.code, ACCERR);
      assert.equal(r!.signal?.err, 6);
      assert.ok(decisions(b.sink.events, 'access_error').includes('write to a VMA without VM_WRITE'));
      assert.ok(!b.sink.events.some((e) => e.ev === 'frame' && e.what === 'alloc' && e.why !== 'pte_alloc'));
    });

    test('checklist 8, 9: a fetch from a present NX page: PROT|INSTR|USER (0x15) is an access error even in a readable VMA', () => {
      const b = boot(v);
      const [, , r] = b.steps('  - mmap: {as: x, length: 4k, prot: rw, flags: [private, anonymous]}\n  - write: {addr: x, value: 0xc3}\n  - exec: {addr: x}\n');
      assert.deepEqual({ code: r!.signal?.code, err: r!.signal?.err }, { code: ACCERR, err: 0x15 });
      assert.ok(decisions(b.sink.events, 'access_error').includes('read/fetch of a present page (NX or pkey)'));
    });

    test('checklist 42: below a GROWSDOWN VMA: the stack grows to the faulting page in one step', () => {
      const b = boot(v);
      const [r] = b.steps('  - write: {addr: 0x7ffffffd0000, value: 1}\n');
      assert.equal(r!.outcome, 'ok');
      assert.equal(r!.minflt, 1);
      const where = six ? decisions(b.sink.events, 'lock_mm_and_find_vma') : decisions(b.sink.events, 'do_user_addr_fault');
      assert.ok(where.includes('stack-expanded'), where.join(','));
    });

    test('faulthandler_disabled(): bad_area_nosemaphore even where a VMA exists', () => {
      const b = boot(v);
      b.steps('  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}\n');
      b.s.k.pagefault_disabled = 1;
      const [r] = b.steps('  - read: {addr: 0x7ffff7ffe000}\n');
      assert.equal(r!.signal?.code, MAPERR);
      assert.deepEqual(decisions(b.sink.events, 'do_user_addr_fault').slice(-1), ['faulthandler-disabled']);
    });

    test('checklist 4: user addresses at or above TASK_SIZE_MAX: the kernel path; sanitize_error_code adds PROT (error 5)', () => {
      const b = boot(v);
      const [r] = b.steps('  - read: {addr: 0xffff888000000000, size: 8}\n');
      assert.deepEqual(r!.faults, [{ vector: 14, error_code: 4, cr2: '0xffff888000000000' }]);
      assert.equal(r!.signal?.err, 5);
      assert.ok(entered(b.sink.events).includes('do_kern_addr_fault'));
      assert.ok(!entered(b.sink.events).includes('do_user_addr_fault'));
    });

    test('checklist 55: vsyscall: a read is denied (logged), a call is emulated and returns', () => {
      const b = boot(v);
      const [rd, ex] = b.steps('  - read: {addr: 0xffffffffff600000}\n  - exec: {addr: 0xffffffffff600000}\n');
      assert.equal(rd!.signal?.err, 5);
      assert.match(rd!.log![0]!, /^a\.out\[1000\] vsyscall read attempt denied -- look up the vsyscall kernel parameter if you need a workaround ip:401000 cs:33 sp:7fffffffe000 /);
      assert.equal(ex!.outcome, 'ok');
      assert.ok(decisions(b.sink.events, 'do_user_addr_fault').includes('vsyscall-emulated'));
    });

    test('checklist 51: SMAP: a supervisor access to a user page with AC clear is an oops, not a signal', () => {
      const b = boot(v);
      const regs = kernelRegs(b, { flags: 0x202n });
      do_user_addr_fault(b.s.k, regs, 0, 0x1000n);
      assert.ok(decisions(b.sink.events, 'do_user_addr_fault').includes('smap-violation'));
      assert.deepEqual(b.s.k.dmesg.slice(0, 3), [
        'BUG: unable to handle page fault for address: 0000000000001000',
        '#PF: supervisor read access in kernel mode',
        '#PF: error_code(0x0000) - not-present page',
      ]);
      assert.match(b.s.k.dmesg[4]!, /^Oops: 0000 \[#1\] PREEMPT SMP PTI$/);
      assert.equal(b.s.k.current.state, 'dead', 'oops_end kills the task');
    });

    test('a kernel NULL dereference with AC set (a uaccess without an extable entry): "BUG: kernel NULL pointer dereference"', () => {
      const b = boot(v);
      const regs = kernelRegs(b, { flags: 0x40202n });
      do_user_addr_fault(b.s.k, regs, 2, 0x10n);
      assert.equal(b.s.k.dmesg[0], 'BUG: kernel NULL pointer dereference, address: 0000000000000010');
      assert.equal(b.s.k.dmesg[1], '#PF: supervisor write access in kernel mode');
      assert.ok(entered(b.sink.events).includes('fixup_exception'));
    });

    test('checklist 51: SMEP: the kernel fetching from a user page (INSTR without USER) goes straight to the oops', () => {
      const b = boot(v);
      const regs = kernelRegs(b, {});
      do_user_addr_fault(b.s.k, regs, 0x11, 0x401000n);
      assert.deepEqual(decisions(b.sink.events, 'do_user_addr_fault'), ['kernel-exec-user-page']);
      assert.equal(b.s.k.dmesg[1], '#PF: supervisor instruction fetch in kernel mode');
      assert.equal(b.s.k.dmesg[2], '#PF: error_code(0x0011) - permissions violation');
    });

    test('checklist 53: RSVD set: "Corrupted page table" and the task is killed', () => {
      const b = boot(v);
      const regs = kernelRegs(b, { cs: 0x33n, ip: 0x401000n });
      do_user_addr_fault(b.s.k, regs, 0xd, 0x1000n);
      assert.equal(b.s.k.dmesg[0], 'a.out: Corrupted page table at address 1000');
      assert.match(b.s.k.dmesg.join('\n'), /^Bad pagetable: 000d \[#1\]/m);
      assert.equal(b.s.k.current.state, 'dead');
    });

    test(`interrupts off in the saved flags: ${six ? 'WARN and bad_area_nosemaphore (6.x)' : 'no check in 5.19'}`, () => {
      const b = boot(v);
      b.steps('  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}\n');
      const regs = kernelRegs(b, { cs: 0x33n, ip: 0x401000n, flags: 0x2n });
      do_user_addr_fault(b.s.k, regs, 4, 0x7ffff7ffe000n);
      assert.equal(decisions(b.sink.events, 'do_user_addr_fault').includes('irqs-were-off'), six);
    });
  });

  describe(`linux ${v}: signals and log lines`, () => {
    test('checklist 49: the exact segfault line, only when the signal is unhandled', () => {
      const d = boot(v, 'default');
      const [r] = d.steps('  - write: {addr: 0x10, value: 1}\n');
      const suffix = six ? ' likely on CPU 0 (core 0, socket 0)' : '';
      assert.equal(r!.log![0], `a.out[1000]: segfault at 10 ip 0000000000401000 sp 00007fffffffe000 error 6${suffix}`);
      assert.equal(r!.log![1], 'Code: Unable to access opcode bytes at RIP 0x401000.');
      assert.match(r!.message!, /killed by SIGSEGV \(core dumped\)/);
      assert.equal(d.s.k.current.exit_code, 0x8b);
      const h = boot(v, 'handle');
      const [r2] = h.steps('  - write: {addr: 0x10, value: 1}\n');
      assert.equal(r2!.log, undefined, 'a handler is installed: no line');
      assert.equal(r2!.signal?.addr, '0x10', 'si_addr is the exact address');
    });

    test('checklist 5: a non-canonical address: #GP, SI_KERNEL, si_addr 0, trapno 13, and its log line', () => {
      const b = boot(v, 'default');
      const [r] = b.steps('  - read: {addr: 0x8000000000000000}\n');
      assert.deepEqual(r!.faults, [{ vector: 13, error_code: 0, cr2: '0x0' }]);
      assert.deepEqual(r!.signal, { signo: 11, name: 'SIGSEGV', code: 0x80, addr: '0x0', trapno: 13, err: 0 });
      assert.equal(r!.log![0], 'a.out[1000] general protection fault ip:401000 sp:7fffffffe000 error:0');
      assert.equal(b.s.k.perf.page_faults, 0);
    });

    test('checklist 47: a forced SIGSEGV that is ignored or blocked is reset to SIG_DFL and kills', () => {
      for (const how of ['ignore', 'blocked'] as const) {
        const b = boot(v);
        const t = b.s.k.current;
        if (how === 'ignore') t.sighand.set(11, 'ignore');
        else t.blocked.add(11);
        const [r] = b.steps('  - read: {addr: 0}\n');
        assert.equal(t.state, 'dead', how);
        assert.match(r!.message!, /killed by SIGSEGV/);
        assert.ok(decisions(b.sink.events, 'force_sig_info_to_task').includes('blocked or ignored: reset to SIG_DFL and unblock'));
      }
    });

    test('checklist 48: sigcontext for a handler: trapno 14, err = sanitized | USER, cr2 = the address', () => {
      const b = boot(v);
      b.steps('  - read: {addr: 0xffffffff81000000, size: 8}\n');
      assert.deepEqual(b.s.k.current.delivered, { signo: 11, code: MAPERR, addr: 0xffffffff81000000n, trapno: 14, err: 5, cr2: 0xffffffff81000000n });
    });

    test('checklist 50: a bad buffer in a syscall: the extable fixup gives -EFAULT, no signal, no log line', () => {
      const b = boot(v);
      const [r] = b.steps('  - getentropy: {addr: 0x1000, length: 8}\n');
      assert.equal(r!.errno, 'EFAULT');
      assert.equal(r!.signal, undefined);
      assert.equal(r!.log, undefined);
      assert.deepEqual(r!.faults, [{ vector: 14, error_code: 2, cr2: '0x1000' }]);
      assert.ok(decisions(b.sink.events, 'kernelmode_fixup_or_oops').includes('fixed up'));
      assert.equal(b.s.k.current.state, 'running');
    });
  });
}
