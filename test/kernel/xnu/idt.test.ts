// master_idt64 as XNU builds it (idt_table.h, fix_desc64, idt64_remap, cpu_desc_load), read back
// from the machine's memory through the IDTR, and the seed article's lldb dump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGate, decodeGateWords } from '../../../src/hw/desc.js';
import { HIB_BASE, HIB_MASTER_IDT64, HIB_STUBS } from '../../../src/kernel/xnu/osfmk/x86_64/hib.js';
import { IDT_TABLE } from '../../../src/kernel/xnu/osfmk/x86_64/idt_table.js';
import { stubAddress } from '../../../src/kernel/xnu/osfmk/i386/mp_desc.js';
import { boot } from './helpers.js';

/** The 16 bytes of gate `v`, read through the IDTR as the CPU (and lldb's x/8hx) would. */
function gateWords(s: ReturnType<typeof boot>, v: number): number[] {
  const m = s.machine;
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = m.tryAccess({ va: m.cpu.idtr.base + BigInt(v * 16 + 8 * i), access: 'read', size: 8, implicit: true });
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return [];
    for (let j = 0; j < 4; j++) words.push(Number((r.value >> BigInt(16 * j)) & 0xffffn));
  }
  return words;
}

test('checklist 3: the article\'s lldb dump of master_idt64[0] is what this model\'s IDT holds (randL3 0x6f)', () => {
  const s = boot({ randL3: 0x6f });
  assert.equal(s.machine.cpu.idtr.base, 0xfffff69bc000c000n, 'IDT= fffff69bc000c000 as the article shows');
  const words = gateWords(s, 0);
  assert.deepEqual(words, [0x2560, 0x0008, 0x8e00, 0xc000, 0xf69b, 0xffff, 0x0000, 0x0000]);
  const g = decodeGateWords(words);
  assert.equal(g.offset, 0xfffff69bc0002560n);
  assert.equal(Number((g.offset >> 39n) & 0x1ffn), 493, 'PML4 slot 493 = KERNEL_DBLMAP_PML4_INDEX');
  assert.equal(Number((g.offset >> 30n) & 0x1ffn), 0x6f, 'PDPT slot = randL3');
  assert.equal(g.offset - (0xfffff69bc0000000n), BigInt(HIB_STUBS), '__HIB + 0x2560 = idt64_zero_div');
  assert.equal(IDT_TABLE[0]!.handler, 'idt64_zero_div');
});

test('checklist 1: 256 16-byte gates; vector 14 is sel 0x08, type 0xE, DPL 0, IST 0, present, offset = DBLMAP(idt64_page_fault)', () => {
  const s = boot({ seed: 5 });
  const k = s.k;
  const w = gateWords(s, 14);
  const g = decodeGateWords(w);
  assert.deepEqual({ sel: g.selector, type: g.type, dpl: g.dpl, ist: g.ist, p: g.present }, { sel: 8, type: 0xe, dpl: 0, ist: 0, p: true });
  assert.equal(g.offset, stubAddress(14) + k.dblmapDist);
  assert.equal(IDT_TABLE[14]!.handler, 'idt64_page_fault');
  for (let v = 0; v < 256; v++) assert.equal(decodeGateWords(gateWords(s, v)).offset, stubAddress(v) + k.dblmapDist, `vector ${v}`);
});

test('checklist 2: gate word 2 is 0x8e00 for TRAP/INTERRUPT, 0x8e01 IST1, 0x8e02 IST2, 0xee00 USER_TRAP', () => {
  const s = boot();
  const word2 = (v: number) => gateWords(s, v)[2];
  const want: Record<string, number> = { TRAP: 0x8e00, TRAP_ERR: 0x8e00, TRAP_SPC: 0x8e00, INTERRUPT: 0x8e00, TRAP_IST1: 0x8e01, TRAP_IST2: 0x8e02, USER_TRAP: 0xee00, USER_TRAP_SPC: 0xee00 };
  for (const row of IDT_TABLE) assert.equal(word2(row.vector), want[row.macro], `vector ${row.vector} ${row.macro}`);
  assert.equal(word2(0x0e), 0x8e00);
  assert.equal(word2(0x01), 0x8e01);
  assert.equal(word2(0x02), 0x8e02);
  assert.equal(word2(0x03), 0xee00);
  assert.equal(word2(0x80), 0xee00);
});

test('checklist 4: IDTR base is DBLMAP(master_idt64), limit 0x1000 + cpu_number; the TSS and GDT are aliases too', () => {
  const s = boot({ seed: 3 });
  const k = s.k;
  assert.equal(s.machine.cpu.idtr.base, HIB_BASE + BigInt(HIB_MASTER_IDT64) + k.dblmapDist);
  assert.equal(s.machine.cpu.idtr.limit, 0x1000);
  assert.equal(Number((s.machine.cpu.idtr.base >> 39n) & 0x1ffn), 493);
  assert.equal(Number((s.machine.cpu.tr.base >> 39n) & 0x1ffn), 493);
  assert.equal(Number((s.machine.cpu.gdtr.base >> 39n) & 0x1ffn), 493);
});

test('the doublemap slot comes from the seed (deterministic) and differs across seeds', () => {
  const slots = [1, 2, 3, 4, 5, 6].map((seed) => boot({ seed }).k.randL3);
  assert.deepEqual(slots, [1, 2, 3, 4, 5, 6].map((seed) => boot({ seed }).k.randL3));
  assert.ok(new Set(slots).size > 1);
});

test('page-table isolation: the user CR3 maps only the __HIB alias of the kernel (PML4 slot 493), not the kernel image', () => {
  const s = boot();
  const m = s.machine;
  // CPU is in user mode on the user-only table after boot.
  assert.equal(m.cpu.cpl, 3);
  const idt = m.previewWalk(m.cpu.idtr.base);
  assert.equal(idt.status, 0, 'the IDT alias is mapped in the user table');
  const kernelIdt = m.previewWalk(HIB_BASE + BigInt(HIB_MASTER_IDT64));
  assert.notEqual(kernelIdt.status, 0, 'the kernel link address is not');
  const mem = m.mem;
  const root = Number(m.cpu.cr3 & 0xffffffffff000n);
  for (let slot = 256; slot < 512; slot++) {
    const present = (mem.read32(root + slot * 8) & 1) === 1;
    assert.equal(present, slot === 493, `user PML4 slot ${slot}`);
  }
  const g = decodeGate(0, 0, 0);
  assert.equal(g.present, false);
});

test('the TSS: RSP0 is the double-mapped per-CPU fault stack (cd_estack); IST2 the NMI stack, IST1 = IST2 - sizeof(isf)', () => {
  const s = boot({ seed: 9 });
  const m = s.machine;
  const rd = (off: number) => {
    const r = m.tryAccess({ va: m.cpu.tr.base + BigInt(off), access: 'read', size: 8, implicit: true });
    assert.equal(r.kind, 'ok');
    return r.kind === 'ok' ? r.value : 0n;
  };
  const rsp0 = rd(0x04);
  const ist1 = rd(0x24);
  const ist2 = rd(0x2c);
  assert.equal(Number((rsp0 >> 39n) & 0x1ffn), 493, 'rsp0 in the double map');
  assert.equal(ist1, ist2 - 64n);
  assert.equal(rsp0, ist2 + 0x1000n, 'fault stack above the NMI stack in scfstks[0]');
});
