// Memory pressure on the Linux model (issue 5): direct reclaim to swap, do_swap_page, the swap PTE,
// and the OOM killer. The host has no swap, so these test the model against the source's rules
// (mm/vmscan.c, mm/memory.c do_swap_page, mm/oom_kill.c), each named by its checklist item.
//
//   RAM 2 MiB (about 440 pages left after boot), swap 4 MiB; `a` is 2 MiB of private anon:
//
//   a+0 .......................................... a+2m
//   [ oldest pages: swapped out | newest pages: resident ]

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pte_offset, read_hi, read_lo } from '../../../../src/kernel/linux/arch/x86/mm/pgtable.js';
import { is_swap_pte, pte_swp_exclusive, pte_to_swp_entry, swp_entry_to_pte } from '../../../../src/kernel/linux/mm/swapfile.js';
import { pressure } from '../../../../src/kernel/linux/mm/vmscan.js';
import { bootPressure, checkInvariants, decisions, readPages, VERSIONS, writePages } from './session.js';

const A = `  - mmap: {as: a, length: 2m, prot: rw, flags: [private, anonymous]}\n`;

test('swap PTE encoding: x86-64 __swp_entry (type in bits 59-63, ~offset from bit 9, exclusive = bit 7) round-trips', () => {
  for (const off of [1, 2, 0x7fffff, 0x800000, 2 ** 40 + 12345, 2 ** 50 - 1]) {
    for (const excl of [false, true]) {
      const { lo, hi } = swp_entry_to_pte(3, off, excl);
      assert.equal(lo & 1, 0, 'P clear');
      assert.equal(lo & 0x100, 0, 'PROTNONE clear: not pte_present');
      assert.ok(is_swap_pte(lo, hi));
      assert.deepEqual(pte_to_swp_entry(lo, hi), { type: 3, off });
      assert.equal(pte_swp_exclusive(lo), excl);
      assert.equal(hi >>> 27, 3);
    }
  }
  // offset 1, type 0: ~1 in bits 9..58 -> low word 0xfffffc00, high word 0x07ffffff.
  assert.deepEqual(swp_entry_to_pte(0, 1, false), { lo: 0xfffffc00, hi: 0x07ffffff });
});

for (const v of VERSIONS) {
  test(`linux ${v}: reclaim swaps out the oldest anon pages; their PTEs become exclusive swap entries; contents survive`, () => {
    const b = bootPressure(v, { ram: '2m', swap: '4m', trace: false });
    const r = b.steps(A + writePages('a', 512));
    assert.ok(r.slice(1).every((x) => x.outcome === 'ok' && x.minflt === 1 && x.majflt === 0), 'every first write is one minor fault');
    const k = b.s.k;
    const mm = k.current.mm!;
    const st = pressure(k);
    assert.ok(mm.rss_stat.swapents > 0, 'some pages went to swap');
    assert.equal(mm.rss_stat.anon + mm.rss_stat.swapents, 512 + 2, "a's pages and the two stack pages exec wrote");
    assert.equal(st.stat.pswpout, mm.rss_stat.swapents);
    const base = Number(BigInt(r[0]!.ret!));
    const pa = pte_offset(k, mm, base);
    const lo = read_lo(k, pa);
    const hi = read_hi(k, pa);
    assert.ok(is_swap_pte(lo, hi), 'the first (oldest) page is swapped');
    assert.ok(pte_swp_exclusive(lo), 'it was PageAnonExclusive');
    assert.equal(st.swap!.swap_map[pte_to_swp_entry(lo, hi).off], 1);
    assert.deepEqual(checkInvariants(b), []);
    const back = b.steps(readPages('a', 512));
    back.forEach((x, i) => assert.equal(x.value, '0x' + ((i % 255) + 1).toString(16), `page ${i}`));
    assert.deepEqual(checkInvariants(b), []);
  });

  test(`linux ${v}: checklist 22/23: a swap-in that needs I/O is major (PGMAJFAULT, RETRY then TRIED), a swap-cache hit (readahead) is minor`, () => {
    const b = bootPressure(v, { ram: '2m', swap: '4m', trace: false });
    b.steps(A + writePages('a', 512));
    const k = b.s.k;
    const pgmaj = k.vmstat.pgmajfault;
    b.sink.events.length = 0;
    k.machine.trace = b.sink;
    const [first, second] = b.steps(readPages('a', 2));
    assert.deepEqual([first!.minflt, first!.majflt, first!.value], [0, 1, '0x1']);
    assert.deepEqual([second!.minflt, second!.majflt, second!.value], [1, 0, '0x2']);
    assert.equal(k.vmstat.pgmajfault, pgmaj + 1);
    // checklist 23: the read leaves the page locked for I/O, so the first attempt drops the lock and
    // returns RETRY|MAJOR; the retry (FAULT_FLAG_TRIED) hits the swap cache and counts as major.
    assert.deepEqual(decisions(b.sink.events, 'do_swap_page').filter((d) => d.startsWith('swap') || d.startsWith('lock')),
      ['swapin-io', 'lock-page-or-retry', 'swapcache-hit', 'swapcache-hit']);
    assert.equal(first!.faults!.length, 1, 'one #PF: the retry is inside do_user_addr_fault');
    // 5.19 maps a read swap-in read-only; 6.x maps an exclusive page writable at once.
    assert.equal(first!.page!.writable, v !== '5.19');
    assert.equal(first!.page!.dirty, false);
  });

  test(`linux ${v}: checklist 22: a write swap-in of an exclusive page maps it writable and dirty in the same fault`, () => {
    const b = bootPressure(v, { ram: '2m', swap: '4m' });
    b.steps(A + writePages('a', 512));
    b.sink.events.length = 0;
    const [w] = b.steps(`  - write: {addr: a+8, value: 0x77}\n`);
    assert.equal(w!.faults!.length, 1, 'one fault');
    assert.deepEqual([w!.majflt, w!.minflt], [1, 0]);
    assert.deepEqual([w!.page!.writable, w!.page!.dirty], [true, true]);
    assert.ok(!decisions(b.sink.events, 'do_wp_page').length, 'no do_wp_page');
    assert.ok(decisions(b.sink.events, 'do_swap_page').includes('exclusive'));
    const [rd] = b.steps(`  - read: {addr: a+8}\n  - read: {addr: a}\n`);
    assert.equal(rd!.value, '0x77');
    assert.deepEqual(checkInvariants(b), []);
  });

  test(`linux ${v}: fork shares swap entries (swap_duplicate, exclusive bit cleared); each side swaps in its own view`, () => {
    const b = bootPressure(v, { ram: '2m', swap: '4m', trace: false });
    b.steps(A + writePages('a', 480));
    const k = b.s.k;
    const swapped = k.current.mm!.rss_stat.swapents;
    assert.ok(swapped > 0);
    const r = b.steps(`  - fork: {as: c}\n  - read: {addr: a}\n    proc: c\n  - write: {addr: a, value: 9}\n    proc: c\n  - read: {addr: a}\n`);
    assert.equal(r[1]!.value, '0x1');
    assert.equal(r[3]!.value, '0x1', "the parent still sees its own page after the child's write");
    assert.deepEqual(checkInvariants(b), []);
    b.steps(`  - exit: {}\n    proc: c\n  - munmap: {addr: a, length: 2m}\n`);
    const left = k.current.mm!.rss_stat.swapents;
    assert.ok(left <= 2, 'only stack pages may still be in swap');
    const cachedOnly = [...pressure(k).swap_cache.keys()].filter((o) => pressure(k).swap!.swap_map[o] === 0).length;
    assert.equal(pressure(k).swap!.inuse_pages, left + cachedOnly, "a's slots are all free again");
    assert.deepEqual(checkInvariants(b), []);
  });

  test(`linux ${v}: checklist 54: with no swap, anon memory cannot be reclaimed: the OOM killer kills the faulting task`, () => {
    const b = bootPressure(v, { ram: '2m', signals: 'default' });
    b.steps(A);
    let killed = -1;
    let step = b.steps(writePages('a', 1))[0]!;
    for (let i = 1; i < 512 && step.outcome === 'ok'; i++) {
      b.sink.events.length = 0;
      step = b.steps(writePages('a', 1, i))[0]!;
      killed = i;
    }
    assert.ok(killed > 100, 'the task ran until memory was gone');
    assert.equal(step.signal?.name, 'SIGKILL');
    assert.equal(step.faults![0]!.error_code, 6, 'a write fault, and no SIGSEGV from it');
    assert.ok(step.log!.some((l) => /^Out of memory: Killed process 1000 \(a\.out\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0$/.test(l)), step.log!.join('\n'));
    assert.ok(step.log!.some((l) => l.startsWith('a.out invoked oom-killer: gfp_mask=0x100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)')));
    assert.ok(decisions(b.sink.events, 'pagefault_out_of_memory').length > 0, 'VM_FAULT_OOM from user mode: no signal from #PF, the instruction would re-fault');
    assert.equal(pressure(b.s.k).stat.oom_kill, 1);
  });

  test(`linux ${v}: the OOM killer picks the largest process (badness = RSS + swap + page tables), reaps it, and the allocation succeeds`, () => {
    const b = bootPressure(v, { ram: '2m', trace: false });
    const r = b.steps(A + `  - fork: {as: c}\n` + writePages('a', 300, 0, 'c') + writePages('a', 250));
    const main = r.slice(302);
    assert.ok(main.every((x) => x.outcome === 'ok'), 'every write of the small parent succeeds');
    const log = r.flatMap((x) => x.log ?? []);
    assert.ok(log.some((l) => l.startsWith('Out of memory: Killed process 1001 (a.out)')), log.join('\n'));
    assert.ok(log.some((l) => l.startsWith('oom_reaper: reaped process 1001 (a.out)')));
    assert.throws(() => b.steps(`  - read: {addr: a}\n    proc: c\n`), /has exited/);
    assert.deepEqual(checkInvariants(b), []);
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: MADV_PAGEOUT swaps out pages mapped only here (a major fault brings each back); after fork it leaves shared pages alone`, () => {
    const b = bootPressure(v, { swap: '1m' });
    const r = b.steps(`  - mmap: {as: a, length: 16k, prot: rw, flags: [private, anonymous]}
  - write: {addr: a, value: 0x41}
  - write: {addr: a+4k, value: 0x42}
  - madvise: {addr: a, length: 16k, advice: pageout}
  - read: {addr: a}
  - read: {addr: a+4k}
  - write: {addr: a+4k, value: 0x43}
  - fork: {as: c}
  - madvise: {addr: a, length: 16k, advice: pageout}
  - read: {addr: a}
    proc: c
`);
    const k = b.s.k;
    assert.deepEqual([r[4]!.value, r[4]!.majflt, r[4]!.minflt], ['0x41', 1, 0], 'swap I/O: major');
    assert.deepEqual([r[5]!.value, r[5]!.majflt, r[5]!.minflt], ['0x42', 0, 1], 'readahead brought it: a swap-cache hit');
    assert.equal(r[6]!.minflt, v === '5.19' ? 1 : 0, '6.x mapped the exclusive page writable on the read');
    assert.deepEqual(decisions(b.sink.events, 'madvise_pageout').slice(-1), ['reclaimed']);
    assert.equal((r[9]!.minflt ?? 0) + (r[9]!.majflt ?? 0), 0, 'the shared pages stayed (mapcount 2)');
    assert.equal(pressure(k).stat.pswpout, 2);
    assert.deepEqual(checkInvariants(b), []);
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: reclaim drops clean page-cache pages (file LRU first); a later read of one is a page-cache miss: major`, () => {
    const b = bootPressure(v, { ram: '1m', swap: '2m' });
    const r = b.steps(`  - file: {as: f, size: 128k, content: "abcd"}
  - mmap: {as: m, length: 128k, prot: r, flags: [private], file: f}
  - read: {addr: m}
  - read: {addr: m+64k}
  - mmap: {as: a, length: 1m, prot: rw, flags: [private, anonymous, populate]}
  - read: {addr: m+68k}
`);
    assert.deepEqual([r[2]!.minflt, r[3]!.minflt], [1, 1], 'cached: minor (fault-around maps 16 pages)');
    assert.ok(decisions(b.sink.events, 'shrink_page_list').includes('dropped-clean-file'));
    assert.deepEqual([r[5]!.value, r[5]!.majflt, r[5]!.minflt], ['0x61', 1, 0], 'the page was dropped: read from the disk again');
    assert.ok(b.s.k.current.mm!.rss_stat.swapents > 0, 'anon pages went to swap too');
    assert.deepEqual(checkInvariants(b), []);
  });
}
