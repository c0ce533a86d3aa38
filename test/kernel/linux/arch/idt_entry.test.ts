// Boot and entry, read back from simulated memory: the IDT gates (arch/x86/kernel/idt.c), the
// TSS stacks, the pt_regs frame at its asm/ptrace.h offsets, and CR3/PCID across entry and exit.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeGate, GATE_INTERRUPT, TSS_RSP0, tssIstOffset } from '../../../../src/hw/desc.js';
import type { Machine } from '../../../../src/hw/machine.js';
import {
  CPU_ENTRY_AREA_RO_IDT, ENTRY_STACK_TOP, IST_INDEX_DB, IST_INDEX_DF, IST_INDEX_MCE, IST_INDEX_NMI, THREAD_SIZE,
} from '../../../../src/kernel/linux/arch/x86/include/asm/processor.js';
import { FRAME_SIZE, PT_REGS_FIELDS, PT_REGS_OFFSET } from '../../../../src/kernel/linux/arch/x86/include/asm/ptrace.js';
import { estackTop } from '../../../../src/kernel/linux/arch/x86/kernel/cpu/common.js';
import { def_idts, early_idts, early_pf_idts } from '../../../../src/kernel/linux/arch/x86/kernel/idt.js';
import type { TraceEvent } from '../../../../src/trace/events.js';
import { boot, entered, VERSIONS } from './boot.js';

/** Read 8 bytes at a kernel virtual address through the current page tables (a supervisor access). */
function kread(m: Machine, va: bigint): bigint {
  const r = m.tryAccess({ va, access: 'read', size: 8, implicit: true });
  assert.equal(r.kind, 'ok', `kernel read of 0x${va.toString(16)}`);
  return r.kind === 'ok' ? r.value : 0n;
}

function gate(m: Machine, v: number) {
  const q0 = kread(m, m.cpu.idtr.base + BigInt(v * 16));
  const q1 = kread(m, m.cpu.idtr.base + BigInt(v * 16 + 8));
  return decodeGate(Number(q0 & 0xffffffffn), Number(q0 >> 32n), Number(q1 & 0xffffffffn));
}

const cr3Writes = (events: readonly TraceEvent[]): bigint[] =>
  events.filter((e): e is Extract<TraceEvent, { ev: 'reg' }> => e.ev === 'reg' && e.name === 'cr3').map((e) => BigInt(e.value));

test('idt.c tables: early_idts (DB without IST, BP with DPL 3), early_pf_idts (#PF only), def_idts (ISTs + 1, SYSG vectors)', () => {
  assert.deepEqual(early_idts.map((d) => [d.vector, d.ist, d.dpl]), [[1, 0, 0], [3, 0, 3]]);
  assert.deepEqual(early_pf_idts, [{ vector: 14, addr: 'asm_exc_page_fault', ist: 0, dpl: 0 }]);
  const byVec = new Map(def_idts.map((d) => [d.vector, d]));
  assert.deepEqual([8, 2, 1, 18, 29].map((vec) => byVec.get(vec)!.ist), [1, 2, 3, 4, 5], 'IST_INDEX_* + 1');
  assert.deepEqual(def_idts.filter((d) => d.dpl === 3).map((d) => d.vector), [4, 0x80]);
  assert.equal(byVec.has(14), false, '#PF is not in def_idts: it was installed early');
});

for (const v of VERSIONS) {
  describe(`linux ${v}: boot`, () => {
    test('PTI: the user PGD maps no kernel memory but the cpu_entry_area (shared) and the entry text', () => {
      const { s } = boot(v);
      const mem = s.m.mem;
      const kpgd = s.k.init_mm.pgd * 4096;
      const upgd = kpgd + 4096;
      const used = (pgd: number) => Array.from({ length: 256 }, (_, i) => 256 + i).filter((i) => mem.read32(pgd + i * 8) !== 0);
      assert.deepEqual(used(upgd), [508, 511]);
      assert.equal(mem.read32(upgd + 508 * 8), mem.read32(kpgd + 508 * 8), 'pti_clone_user_shared: the same PUD table');
      assert.notEqual(mem.read32(upgd + 511 * 8), mem.read32(kpgd + 511 * 8), 'pti_clone_entry_text: own tables down to the PMD');
      assert.ok(used(kpgd).includes(273), 'the direct map (page_offset_base) in the kernel PGD');
    });

    test('IDTR points at the read-only alias in the cpu_entry_area, mapped in the user page tables', () => {
      const { s } = boot(v);
      const m = s.m;
      assert.equal(m.cpu.idtr.base, CPU_ENTRY_AREA_RO_IDT);
      assert.equal(m.cpu.idtr.limit, 256 * 16 - 1);
      assert.equal(m.cpu.cr3 & (1n << 12n), 1n << 12n, 'user mode runs on the user half of the PTI pair');
      const w = m.previewWalk(CPU_ENTRY_AREA_RO_IDT);
      assert.equal(w.status, 0, 'the IDT alias is mapped in the user PGD');
      assert.equal(w.lo[w.level]! & 2, 0, 'read-only');
      assert.equal(m.previewWalk(0xffffffff81000000n).status, 1, 'kernel text outside the entry code is not mapped for user mode');
    });

    test('checklist 1: gates decoded from memory: interrupt gates only, #PF DPL0 without IST, IST for DF/NMI/DB/MC, DPL3 for BP/OF/0x80', () => {
      const { s } = boot(v);
      const m = s.m;
      const pf = gate(m, 14);
      assert.deepEqual(pf, { offset: s.k.syms.addr('asm_exc_page_fault'), selector: 0x10, ist: 0, type: GATE_INTERRUPT, dpl: 0, present: true });
      const gp = gate(m, 13);
      assert.deepEqual({ ist: gp.ist, dpl: gp.dpl, offset: gp.offset }, { ist: 0, dpl: 0, offset: s.k.syms.addr('asm_exc_general_protection') });
      assert.equal(gate(m, 8).ist, IST_INDEX_DF + 1);
      assert.equal(gate(m, 2).ist, IST_INDEX_NMI + 1);
      assert.equal(gate(m, 1).ist, IST_INDEX_DB + 1, 'def_idts replaced the early #DB gate with the IST one');
      assert.equal(gate(m, 18).ist, IST_INDEX_MCE + 1);
      for (const vec of [3, 4, 0x80]) assert.equal(gate(m, vec).dpl, 3, `vector ${vec} is a SYSG gate`);
      for (let vec = 0; vec < 32; vec++) {
        const g = gate(m, vec);
        if (g.present) assert.equal(g.type, GATE_INTERRUPT, `vector ${vec}: Linux never uses trap gates`);
      }
      assert.equal(gate(m, 0x20).present, false, 'no IRQ vectors in the model');
    });

    test('TSS: sp0 is the top of the entry stack; IST1-4 are the tops of the DF, NMI, DB, MCE stacks', () => {
      const { s } = boot(v);
      const m = s.m;
      const tss = m.cpu.tr.base;
      assert.equal(kread(m, tss + BigInt(TSS_RSP0)), ENTRY_STACK_TOP);
      for (const ist of [IST_INDEX_DF, IST_INDEX_NMI, IST_INDEX_DB, IST_INDEX_MCE]) {
        assert.equal(kread(m, tss + BigInt(tssIstOffset(ist + 1))), estackTop(ist));
      }
    });
  });

  describe(`linux ${v}: entry and exit`, () => {
    test('pt_regs offsets are the uapi ones: r15 at 0, orig_ax at 120, ip at 128, ss at 160 (FRAME_SIZE 168)', () => {
      assert.equal(FRAME_SIZE, 168);
      assert.deepEqual(
        [PT_REGS_OFFSET.r15, PT_REGS_OFFSET.bx, PT_REGS_OFFSET.ax, PT_REGS_OFFSET.di, PT_REGS_OFFSET.orig_ax, PT_REGS_OFFSET.ip, PT_REGS_OFFSET.cs, PT_REGS_OFFSET.flags, PT_REGS_OFFSET.sp, PT_REGS_OFFSET.ss],
        [0, 40, 80, 112, 120, 128, 136, 144, 152, 160],
      );
      assert.equal(PT_REGS_FIELDS.length * 8, FRAME_SIZE);
    });

    test('checklist 1: the frame sync_regs left on the task stack (error code in orig_ax, then -1), read back from memory after the fault', () => {
      const b = boot(v);
      const [mm, w] = b.steps('  - mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}\n  - write: {addr: buf, value: 0x41}\n');
      assert.equal(w!.outcome, 'ok');
      const buf = BigInt(mm!.ret!);
      const m = b.s.m;
      const regs = b.s.k.current.stack + BigInt(THREAD_SIZE - FRAME_SIZE);
      m.movToCr3(m.cpu.cr3 & ~0x1800n); // look with the kernel half of the pair: the task stack is not in the user one
      const at = (f: keyof typeof PT_REGS_OFFSET) => kread(m, regs + BigInt(PT_REGS_OFFSET[f]));
      assert.equal(at('orig_ax'), 0xffffffffffffffffn, 'idtentry_body moved the error code to arg 2 and stored -1');
      assert.equal(at('ip'), 0x401000n);
      assert.equal(at('cs'), 0x33n);
      assert.equal(at('ss'), 0x2bn);
      assert.equal(at('flags') & 0x200n, 0x200n, 'IF was set in user mode');
      assert.equal(at('sp'), 0x7fffffffe000n);
      // The trace's frame is the same memory, with the hardware error code still in orig_ax at that point.
      const frame = b.sink.events.find((e): e is Extract<TraceEvent, { ev: 'pt_regs' }> => e.ev === 'pt_regs' && e.fn === 'sync_regs')!;
      assert.equal(BigInt(frame.addr), regs);
      assert.equal(frame.regs.orig_ax, '0x6');
      assert.ok(buf > 0n);
    });

    test('CR3 across the fault: user PGD + user PCID -> kernel (bits 12 and 11 clear) -> user again, no flush either way', () => {
      const b = boot(v);
      b.steps('  - mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}\n');
      b.sink.events.length = 0;
      const before = b.s.m.cpu.cr3;
      b.steps('  - write: {addr: 0x7ffff7ffe000, value: 1}\n');
      const writes = cr3Writes(b.sink.events);
      assert.equal(before & 0x1800n, 0x1800n, 'user: PTI_USER_PGTABLE_BIT (12) and the user PCID bit (11)');
      assert.equal(writes.length, 2, 'SWITCH_TO_KERNEL_CR3 then SWITCH_TO_USER_CR3');
      assert.equal(writes[0], before & ~0x1800n, 'kernel PGD, kernel PCID (bit 63 NOFLUSH is not stored)');
      assert.equal(writes[1], before);
      assert.equal(Number(before & 0x7ffn), 2, 'kern_pcid(asid 1) = 2 for the first process');
      assert.ok(!b.sink.events.some((e) => e.ev === 'tlb_flush' && e.cause === 'mov-cr3'), 'NOFLUSH both ways');
    });

    test('the fault path, function by function, from the IDT entry to IRETQ', () => {
      const b = boot(v);
      b.steps('  - mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}\n');
      b.sink.events.length = 0;
      b.steps('  - write: {addr: 0x7ffff7ffe000, value: 1}\n');
      const fns = entered(b.sink.events);
      const order = ['asm_exc_page_fault', 'error_entry', 'sync_regs', 'exc_page_fault', 'handle_page_fault', 'do_user_addr_fault', 'handle_mm_fault', 'error_return', 'swapgs_restore_regs_and_return_to_usermode'];
      let at = -1;
      for (const fn of order) {
        const i = fns.indexOf(fn, at + 1);
        assert.ok(i > at, `${fn} after ${order[order.indexOf(fn) - 1]}`);
        at = i;
      }
      const evs = b.sink.events.map((e) => e.ev);
      assert.ok(evs.indexOf('deliver') < evs.indexOf('enter'), 'the CPU delivers before any kernel code runs');
      assert.ok(evs.lastIndexOf('iret') > evs.lastIndexOf('leave') - 5, 'IRETQ ends the path');
      assert.equal(b.s.m.cpu.cs & 3, 3);
    });

    test('a system call enters at entry_SYSCALL_64 with orig_ax = nr and returns by SYSRET to the next instruction', () => {
      const b = boot(v);
      const [r] = b.steps('  - mmap: {length: 4k, prot: r, flags: [private, anonymous]}\n');
      assert.equal(r!.outcome, 'ok');
      const frame = b.sink.events.find((e): e is Extract<TraceEvent, { ev: 'pt_regs' }> => e.ev === 'pt_regs' && e.fn === 'entry_SYSCALL_64')!;
      assert.equal(frame.regs.orig_ax, '0x9', 'mmap is 9');
      assert.equal(frame.regs.ax, '0xffffffffffffffda', 'PUSH_AND_CLEAR_REGS rax=$-ENOSYS');
      assert.equal(frame.regs.cs, '0x33');
      const c = b.s.m.cpu;
      assert.equal(c.cs, 0x33);
      assert.equal(c.rip, 0x401102n);
      assert.equal(c.cr3 & 0x1800n, 0x1800n);
      assert.equal(c.gpr.rax, BigInt(r!.ret!));
    });
  });
}
