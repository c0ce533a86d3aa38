// Exception delivery in IA-32e mode (Intel SDM Vol. 3 ch. 6) through the bare lab: the stack
// frame in physical memory, stack selection (RSP0, IST, none), alignment, nested faults (#DF and
// the triple fault), IRETQ, SWAPGS, and how #PF/#GP report addresses.
//
// The lab (src/kernel/bare/lab.ts): IDT at 0xfffffe0000000000, TSS at 0xfffffe0000002000, task
// stack 0xffffc90000000000..+0x4000 (RSP0 = its top), IST stacks one page each from
// 0xfffffe0000010000 (ISTn's top = base + n*0x1000), handler for vector v at HANDLERS_VA + v*0x10.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTssDesc, TSS_SIZE } from '../../src/hw/desc.js';
import { iretq, lidt, ltr, swapgs } from '../../src/hw/delivery.js';
import { A } from '../../src/hw/pte.js';
import { RFLAGS_FIXED, RFLAGS_IF } from '../../src/hw/regs.js';
import {
  GDT_VA, HANDLERS_VA, IDT_VA, IST_STACKS_VA, KERNEL_CS, KERNEL_DS, TASK_STACK_VA, TSS_SEL, TSS_VA, USER_CS, USER_DS, USER_RIP, USER_RSP,
} from '../../src/kernel/bare/lab.js';
import { hex } from '../../src/trace/events.js';
import { DATA, K1, KERN_GLOBAL, KERN_RW, U1, USER_RW, clear, eventsOf, fault, ok, rig, type Rig } from './lab_util.js';

const RSP0 = TASK_STACK_VA + 0x4000n;
const IST1_TOP = IST_STACKS_VA + 0x1000n;
const IST2_TOP = IST_STACKS_VA + 0x2000n;
const KERNEL_RSP = TASK_STACK_VA + 0x4000n - 0x100n; // the lab's CPL 0 stack pointer
const BOOT_RFLAGS = RFLAGS_FIXED | RFLAGS_IF;
const UNMAPPED_STACK = TASK_STACK_VA + 0x10_0000n; // no page behind it
const handler = (v: number): bigint => HANDLERS_VA + BigInt(v * 0x10);

/** The 8-byte words from `rsp` upward, read from physical memory through the lab's mappings. */
function stackWords(r: Rig, rsp: bigint, n: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const va = rsp + BigInt(8 * i);
    out.push(r.m.mem.read64(r.lab.physOf(va)));
  }
  return out;
}

/** A user-mode (CPL 3) 8-byte write to U1, which nothing maps: delivered through the IDT. */
function userWriteFault(r: Rig): void {
  r.lab.setCpl(3);
  const res = r.m.access({ va: U1 + 0x18n, access: 'write', size: 8, value: 1n });
  assert.equal(res.kind, 'fault');
}

const whats = (m: Rig) => eventsOf(m.sink, 'push').map((e) => e.what);

describe('§6.12, §6.14: delivering #PF from user mode', () => {
  test('CR2, error code 6, RSP0 stack, the six pushed words, handler entry with IF cleared', () => {
    const r = rig();
    userWriteFault(r);
    const { m } = r;
    assert.deepEqual(m.takeRaised(), [{ vector: 14, errorCode: 6, cr2: U1 + 0x18n }]);
    assert.equal(m.cpu.cr2, U1 + 0x18n);
    assert.equal(m.cpu.rsp, RSP0 - 48n);
    // Top down: SS, RSP, RFLAGS, CS, RIP, error code; read back lowest first.
    assert.deepEqual(stackWords(r, m.cpu.rsp, 6), [6n, USER_RIP, BigInt(USER_CS), BOOT_RFLAGS, USER_RSP, BigInt(USER_DS)]);
    assert.equal(m.cpu.rip, handler(14));
    assert.equal(m.cpu.cs, KERNEL_CS);
    assert.equal(m.cpu.cpl, 0);
    assert.equal(m.cpu.ss, 0, 'SS gets a null selector with RPL = new CPL (§6.14.4)');
    assert.equal(m.cpu.rflags & RFLAGS_IF, 0n, 'an interrupt gate clears IF');
    assert.deepEqual(eventsOf(r.sink, 'stack_switch'), [{ ev: 'stack_switch', from: hex(USER_RSP), to: hex(RSP0), why: 'privilege', ist: undefined }]);
    assert.deepEqual(whats(r), ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP', 'error code']);
    assert.deepEqual(eventsOf(r.sink, 'deliver'), [{ ev: 'deliver', vector: 14, rip: hex(handler(14)), cs: KERNEL_CS, rsp: hex(RSP0 - 48n), cpl: 0, ifCleared: true }]);
  });

  test('a trap gate keeps IF', () => {
    const r = rig();
    r.lab.setGate(14, { type: 'trap' });
    userWriteFault(r);
    assert.equal(r.m.cpu.rflags & RFLAGS_IF, RFLAGS_IF);
    assert.equal(eventsOf(r.sink, 'gate')[0]?.type, 'trap');
    assert.equal(eventsOf(r.sink, 'deliver')[0]?.ifCleared, false);
  });

  test('an unaligned RSP0 is aligned down to 16 bytes before the pushes (§6.14.2)', () => {
    const r = rig();
    const odd = RSP0 - 0x28n - 3n; // 0x...3fd5
    r.lab.setTss({ rsp0: odd });
    userWriteFault(r);
    const aligned = odd & ~0xfn;
    assert.equal(aligned, RSP0 - 0x30n);
    assert.equal(r.m.cpu.rsp, aligned - 48n);
    assert.equal(eventsOf(r.sink, 'stack_switch')[0]?.to, hex(aligned));
    assert.equal(stackWords(r, aligned - 8n, 1)[0], BigInt(USER_DS), 'SS is the first word below the aligned top');
  });

  test('IRETQ through the lab handler returns to CPL 3 at the original RIP and RSP', () => {
    const r = rig();
    userWriteFault(r);
    clear(r.sink);
    assert.equal(r.lab.returnFromHandler(true), null);
    const c = r.m.cpu;
    assert.equal(c.cpl, 3);
    assert.equal(c.cs, USER_CS);
    assert.equal(c.ss, USER_DS);
    assert.equal(c.rip, USER_RIP);
    assert.equal(c.rsp, USER_RSP);
    assert.equal(c.rflags, BOOT_RFLAGS, 'IF comes back with the saved RFLAGS');
    assert.deepEqual(eventsOf(r.sink, 'iret').map((e) => [e.rip, e.cs, e.cpl]), [[hex(USER_RIP), USER_CS, 3]]);
  });

  test('IRETQ without dropping the error code pops it as RIP and faults on its CS', () => {
    const r = rig();
    userWriteFault(r);
    const before = r.m.cpu.rsp;
    // The frame is shifted by one word: RIP=6 (the error code), CS=USER_RIP (0x401000): RPL 0 <
    // CPL 0 is fine, but selector 0x1000 is beyond the GDT limit -> #GP(selector).
    const f = iretq(r.m);
    assert.deepEqual(f, { vector: 13, errorCode: 0x1000 });
    assert.equal(r.m.cpu.rsp, before, 'a faulting IRETQ changes no register');
    assert.equal(r.m.cpu.cpl, 0);
  });
});

describe('§8.2.3, §6.14.5: the TSS and stack selection', () => {
  test('LTR of a TSS whose base has bit 31 set: delivery reads RSP0 from that TSS', () => {
    const r = rig();
    const alias = 0xffff_fe00_8000_2000n; // canonical; base bits 31:24 = 0x80
    r.lab.map(alias, BigInt(r.lab.physOf(TSS_VA)), '4k', KERN_GLOBAL, KERN_RW);
    const desc = r.lab.physOf(GDT_VA) + TSS_SEL;
    encodeTssDesc(alias, TSS_SIZE - 1).forEach((w, i) => r.m.mem.write32(desc + 4 * i, w));
    assert.equal(ltr(r.m, TSS_SEL), null);
    assert.equal(r.m.cpu.tr.base, alias);
    userWriteFault(r);
    assert.deepEqual(r.m.takeRaised().map((f) => f.vector), [14]);
    assert.equal(r.m.cpu.rsp, RSP0 - 48n);
  });

  test('a gate with IST=2 switches to IST2 even at CPL 0', () => {
    const r = rig();
    r.lab.setGate(14, { ist: 2 });
    r.lab.setCpl(0);
    fault(r.m.access({ va: K1, access: 'read' }));
    const { m } = r;
    assert.deepEqual(m.takeRaised(), [{ vector: 14, errorCode: 0, cr2: K1 }]);
    assert.equal(m.cpu.rsp, IST2_TOP - 48n);
    assert.deepEqual(stackWords(r, m.cpu.rsp, 6), [0n, handler(0) - 0x1000n, BigInt(KERNEL_CS), BOOT_RFLAGS, KERNEL_RSP, BigInt(KERNEL_DS)]);
    assert.equal(m.cpu.ss, KERNEL_DS, 'no privilege change: SS is kept');
    assert.deepEqual(eventsOf(r.sink, 'stack_switch').map((e) => [e.why, e.ist, e.to]), [['ist', 2, hex(IST2_TOP)]]);
  });

  test('a CPL 0 fault without IST stays on the current stack (aligned) and still pushes SS:RSP', () => {
    const r = rig();
    r.lab.setCpl(0);
    const rsp = KERNEL_RSP - 8n; // misaligned by 8
    r.m.cpu.rsp = rsp;
    fault(r.m.access({ va: K1, access: 'write', size: 8, value: 0n }));
    const { m } = r;
    assert.equal(m.cpu.rsp, KERNEL_RSP - 0x10n - 48n, 'aligned down to 16, then six pushes');
    assert.deepEqual(stackWords(r, m.cpu.rsp, 6), [2n, handler(0) - 0x1000n, BigInt(KERNEL_CS), BOOT_RFLAGS, rsp, BigInt(KERNEL_DS)]);
    assert.equal(eventsOf(r.sink, 'stack_switch').length, 0);
    assert.equal(m.cpu.ss, KERNEL_DS);
    assert.equal(m.cpu.rip, handler(14));
  });
});

describe('§6.15: faults during delivery', () => {
  test('a not-present #PF gate raises #NP(0x73), contributory during #PF: #DF on IST1', () => {
    const r = rig();
    r.lab.setGate(14, { present: false });
    userWriteFault(r);
    const { m } = r;
    assert.deepEqual(m.takeRaised(), [
      { vector: 14, errorCode: 6, cr2: U1 + 0x18n },
      { vector: 11, errorCode: 14 * 8 + 2 + 1 },
      { vector: 8, errorCode: 0 },
    ]);
    assert.deepEqual(eventsOf(r.sink, 'double_fault'), [{ ev: 'double_fault', first: 14, second: 11 }]);
    assert.equal(m.cpu.rip, handler(8));
    assert.equal(m.cpu.rsp, IST1_TOP - 48n, '#DF is delivered on IST1');
    assert.deepEqual(stackWords(r, m.cpu.rsp, 6), [0n, USER_RIP, BigInt(USER_CS), BOOT_RFLAGS, USER_RSP, BigInt(USER_DS)]);
    assert.equal(m.cpu.cr2, U1 + 0x18n);
    assert.equal(m.shutdown, false);
  });

  test('RSP0 on an unmapped page: #PF while pushing, so #DF', () => {
    const r = rig();
    r.lab.setTss({ rsp0: UNMAPPED_STACK });
    userWriteFault(r);
    const { m } = r;
    assert.deepEqual(m.takeRaised(), [
      { vector: 14, errorCode: 6, cr2: U1 + 0x18n },
      { vector: 14, errorCode: 2, cr2: UNMAPPED_STACK - 8n }, // implicit supervisor write: U/S=0
      { vector: 8, errorCode: 0 },
    ]);
    assert.equal(m.cpu.cr2, UNMAPPED_STACK - 8n, 'CR2 holds the second fault address');
    assert.equal(m.cpu.rip, handler(8));
    assert.equal(m.cpu.rsp, IST1_TOP - 48n);
    assert.equal(m.cpu.cpl, 0);
    assert.deepEqual(eventsOf(r.sink, 'double_fault'), [{ ev: 'double_fault', first: 14, second: 14 }]);
  });

  test('RSP0 and IST1 both unmapped: triple fault, shutdown, no exception thrown', () => {
    const r = rig();
    r.lab.setTss({ rsp0: UNMAPPED_STACK, ist1: UNMAPPED_STACK + 0x1000n });
    r.lab.setCpl(3);
    const res = r.m.access({ va: U1, access: 'read' });
    assert.equal(res.kind, 'fault');
    const { m } = r;
    assert.equal(m.shutdown, true);
    assert.deepEqual(m.takeRaised().map((f) => [f.vector, f.errorCode]), [[14, 4], [14, 2], [8, 0], [14, 2]]);
    assert.deepEqual(eventsOf(r.sink, 'shutdown'), [{ ev: 'shutdown', reason: 'triple-fault', vector: 14 }]);
    assert.equal(eventsOf(r.sink, 'deliver').length, 0, 'nothing was delivered');
    assert.deepEqual([m.cpu.rip, m.cpu.rsp, m.cpu.cpl], [USER_RIP, USER_RSP, 3], 'registers as before the fault');
    assert.throws(() => m.access({ va: U1, access: 'read' }), /shutdown/);
  });

  test('an IDT limit that excludes vector 14: #GP(0x73) during #PF, so #DF', () => {
    const r = rig();
    lidt(r.m, IDT_VA, 14 * 16 - 1);
    userWriteFault(r);
    const { m } = r;
    assert.deepEqual(m.takeRaised().map((f) => [f.vector, f.errorCode]), [[14, 6], [13, 0x73], [8, 0]]);
    assert.equal(m.cpu.rip, handler(8));
    assert.equal(eventsOf(r.sink, 'gate').map((e) => e.vector).join(), '8', 'only the #DF gate was read');
  });

  test('an IDT limit that excludes #DF as well: triple fault', () => {
    const r = rig();
    lidt(r.m, IDT_VA, 8 * 16 - 1);
    userWriteFault(r);
    assert.equal(r.m.shutdown, true);
    assert.deepEqual(r.m.takeRaised().map((f) => [f.vector, f.errorCode]), [[14, 6], [13, 0x73], [8, 0], [13, 0x43]]);
  });
});

describe('SWAPGS, #GP and CR2', () => {
  test('SWAPGS at CPL 3 is #UD, returned as a fault; at CPL 0 it swaps the two bases', () => {
    const r = rig();
    const c = r.m.cpu;
    c.gsBase = 0x7f00_0000_0000n;
    c.kernelGsBase = 0xffff_8880_3fc0_0000n;
    r.lab.setCpl(3);
    assert.deepEqual(swapgs(r.m), { vector: 6, errorCode: undefined });
    assert.equal(c.gsBase, 0x7f00_0000_0000n);
    r.lab.setCpl(0);
    assert.equal(swapgs(r.m), null);
    assert.equal(c.gsBase, 0xffff_8880_3fc0_0000n);
    assert.equal(c.kernelGsBase, 0x7f00_0000_0000n);
    assert.deepEqual(eventsOf(r.sink, 'reg').filter((e) => e.name === 'gs.base').map((e) => e.value), [hex(0xffff_8880_3fc0_0000n)]);
  });

  test('a non-canonical user access raises #GP(0) and leaves CR2 unchanged', () => {
    const r = rig();
    r.m.setCr2(0x1234n);
    r.lab.setCpl(3);
    clear(r.sink);
    const res = r.m.access({ va: 0x0000_8000_0000_0000n, access: 'read', size: 8 });
    assert.deepEqual(res, { kind: 'fault', fault: { vector: 13, errorCode: 0 }, tlb: 'none' });
    assert.deepEqual(r.m.takeRaised(), [{ vector: 13, errorCode: 0 }]);
    assert.equal(r.m.cpu.cr2, 0x1234n);
    assert.equal(r.m.cpu.rip, handler(13));
    assert.equal(stackWords(r, r.m.cpu.rsp, 1)[0], 0n, 'error code 0 pushed');
    const firstException = r.sink.events.findIndex((e) => e.ev === 'exception');
    assert.deepEqual(r.sink.events.slice(0, firstException).map((e) => e.ev), ['access'], 'no TLB lookup or walk before #GP');
  });

  test('an access crossing into a not-present page reports CR2 = start of the second page', () => {
    const r = rig();
    const pte = r.lab.map(U1, DATA, '4k', USER_RW, USER_RW);
    r.lab.setCpl(3);
    const res = r.m.access({ va: U1 + 0xffcn, access: 'read', size: 8 });
    assert.deepEqual(res.kind === 'fault' && res.fault, { vector: 14, errorCode: 4, cr2: U1 + 0x1000n });
    assert.equal(r.m.cpu.cr2, U1 + 0x1000n);
    assert.equal(r.m.mem.read32(pte) & A, 0, 'the faulting access set no A flag on the first page');
    assert.equal(r.m.tlb!.lookup(Number(U1 >> 12n), 0), -1, 'nor cached the first page');
    // The same access with both pages mapped reads across the boundary, little-endian.
    r.lab.map(U1 + 0x1000n, DATA + 0x5000n, '4k', USER_RW, USER_RW);
    r.m.mem.write32(Number(DATA) + 0xffc, 0x4433_2211);
    r.m.mem.write32(Number(DATA) + 0x5000, 0x8877_6655);
    r.lab.setCpl(3);
    assert.equal(ok(r.m.access({ va: U1 + 0xffcn, access: 'read', size: 8 })).value, 0x8877_6655_4433_2211n);
    assert.equal(r.m.mem.read32(pte) & A, A);
  });
});
