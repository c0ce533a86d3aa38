// arch/x86/mm/tlb.c as modelled: ASIDs per mm with tlb_gen (a flush requested while the mm is
// not loaded is done when it is switched back in), PCIDs in CR3, partial vs full flushes, and
// 5.19's vmacache in find_vma.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flush_tlb_mm_range, tlbstate, user_pcid } from '../../../../src/kernel/linux/arch/x86/mm/tlb.js';
import { sys_mmap, sys_munmap } from '../../../../src/kernel/linux/mm/mmap.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { bootKernel, decisions, forkTask, mmOf, switchTo, userAccess, VERSIONS } from './kernel.js';

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const PRIV = MAP_PRIVATE | MAP_ANONYMOUS;

for (const v of VERSIONS) {
  test(`linux ${v}: switch_mm: a new mm gets a new ASID; switching back reuses it without a flush; a flush requested meanwhile is done on return`, () => {
    const k = bootKernel(v, { trace: true });
    const parent = k.current;
    const a = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
    userAccess(k, a, 'write', 1n);
    const child = forkTask(k, 'c', 2);
    const s = tlbstate(k);
    const pAsid = s.loaded_mm_asid;
    switchTo(k, child);
    assert.notEqual(s.loaded_mm_asid, pAsid);
    assert.equal(decisions(k, 'choose_new_asid').at(-1), 'asid-new');
    assert.equal(k.machine.cpu.cr3 & 0xfffn, BigInt(s.loaded_mm_asid + 1), 'CR3 carries kern_pcid(asid)');
    switchTo(k, parent);
    assert.equal(decisions(k, 'choose_new_asid').at(-1), 'asid-reused');
    assert.equal(s.loaded_mm_asid, pAsid);
    userAccess(k, a, 'read');
    const hits = k.machine.tlb!.hits;
    userAccess(k, a, 'read');
    assert.equal(k.machine.tlb!.hits, hits + 1, 'the parent\'s TLB entries survived the round trip (NOFLUSH)');
    switchTo(k, child);
    flush_tlb_mm_range(k, parent.mm!, a, a + P); // as another CPU would request it
    assert.equal(decisions(k, 'flush_tlb_mm_range').at(-1), 'mm-not-loaded');
    switchTo(k, parent);
    assert.equal(decisions(k, 'choose_new_asid').at(-1), 'asid-reused-stale');
    const h2 = k.machine.tlb!.hits;
    userAccess(k, a, 'read');
    assert.equal(k.machine.tlb!.hits, h2, 'flushed on the way in: a miss');
    assert.ok(s.user_pcid_flush_mask & (1 << pAsid), 'PTI: the user PCID flush waits for the return to user mode');
    assert.equal(user_pcid(pAsid), (pAsid + 1) | 0x800);
  });

  test(`linux ${v}: munmap of a few pages flushes page by page (INVLPG); of many, the whole TLB (CR3 write)`, () => {
    const k = bootKernel(v, { trace: true });
    const a = sys_mmap(k, 0, 40 * P, RW, PRIV, -1, 0);
    for (let i = 0; i < 40; i++) userAccess(k, a + i * P, 'write', 1n);
    sys_munmap(k, a, 2 * P);
    assert.equal(decisions(k, 'flush_tlb_func').at(-1), 'partial');
    sys_munmap(k, a + 2 * P, 38 * P);
    assert.equal(decisions(k, 'flush_tlb_func').at(-1), 'full', '38 pages > tlb_single_page_flush_ceiling (33)');
  });
}

test('linux 5.19: find_vma answers a repeated lookup from the vmacache; an unmap invalidates it', () => {
  const k = bootKernel('5.19', { trace: true });
  const a = sys_mmap(k, 0, 2 * P, RW, PRIV, -1, 0);
  find_vma(k, mmOf(k), a);
  find_vma(k, mmOf(k), a);
  assert.deepEqual(decisions(k, 'find_vma'), ['vmacache-hit']);
  sys_munmap(k, a + P, P);
  const before = decisions(k, 'find_vma').length;
  assert.equal(find_vma(k, mmOf(k), a)!.vm_end, a + P);
  assert.equal(decisions(k, 'find_vma').length, before, 'the seqnum changed: a miss, then the rbtree');
});
