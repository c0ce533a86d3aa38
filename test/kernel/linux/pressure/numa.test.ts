// Checklist 57: a NUMA-hinting PTE (PROTNONE in an accessible VMA, as task_numa_work's
// change_prot_numa leaves it) is resolved by do_numa_page as a minor fault with no signal. The
// model has no NUMA balancing to make such PTEs, so the test makes one the way change_prot_numa
// does (pte_modify to PAGE_NONE) and lets a user read fault on it.
//
//   a: [ one present page, RW VMA ] --change_prot_numa--> PTE P=0 PROTNONE=1 --read--> P=1 again

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pte_modify, pte_offset, read_hi, read_lo, set_entry } from '../../../../src/kernel/linux/arch/x86/mm/pgtable.js';
import { PAGE_NONE } from '../../../../src/kernel/linux/arch/x86/include/asm/pgtable_types.js';
import { flush_tlb_mm } from '../../../../src/kernel/linux/arch/x86/mm/tlb.js';
import { bootPressure, decisions, VERSIONS } from './session.js';

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 57: a NUMA-hinting PROTNONE PTE in an accessible VMA resolves as a minor fault, no signal`, () => {
    const b = bootPressure(v);
    const r = b.steps(`  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}\n  - write: {addr: a, value: 7}\n`);
    const k = b.s.k;
    const mm = k.current.mm!;
    const va = Number(BigInt(r[0]!.ret!));
    const pa = pte_offset(k, mm, va);
    const n = pte_modify(read_lo(k, pa), read_hi(k, pa), PAGE_NONE); // change_pte_range with MM_CP_PROT_NUMA
    set_entry(k, 'pt', pa, n.lo, n.hi, va);
    flush_tlb_mm(k, mm);
    b.sink.events.length = 0;
    const [rd] = b.steps(`  - read: {addr: a}\n`);
    assert.deepEqual([rd!.outcome, rd!.value, rd!.minflt, rd!.majflt, rd!.signal], ['ok', '0x7', 1, 0, undefined]);
    assert.equal(rd!.faults![0]!.error_code, 0x4, 'not present to the MMU');
    assert.ok(decisions(b.sink.events, 'handle_pte_fault').includes('numa-hint'));
    assert.equal(rd!.page!.present, true);
  });
}
