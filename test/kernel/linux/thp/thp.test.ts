// Transparent huge pages (checklist 56; mm/huge_memory.c). The host runs `madvise` and
// test/conformance/scenarios/thp-madvise.yaml checks the common path against it; these pin the
// decisions, the version difference at a write to the huge zero page, fork and splitting.
//
//   m = 0x200000000, 4 MiB, 2 MiB aligned:  [ PMD 0: m .. m+2m ) [ PMD 1: m+2m .. m+4m )

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pressure } from '../../../../src/kernel/linux/mm/vmscan.js';
import { bootPressure, decisions, VERSIONS } from '../pressure/session.js';

const M = `  - mmap: {as: m, addr: 0x200000000, length: 4m, prot: rw, flags: [private, anonymous, fixed]}\n`;

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 56: THP=never (the default) maps 4 KiB pages, one fault each`, () => {
    const b = bootPressure(v);
    const r = b.steps(M + `  - write: {addr: m, value: 1}\n  - write: {addr: m+4k, value: 1}\n`);
    assert.deepEqual([r[1]!.minflt, r[2]!.minflt], [1, 1]);
    assert.equal(decisions(b.sink.events, 'do_huge_pmd_anonymous_page').length, 0);
  });

  test(`linux ${v}: checklist 56: THP=always: a write in an aligned, fully covered 2 MiB range maps one PMD (512 pages, one fault)`, () => {
    const b = bootPressure(v, { thp: 'always' });
    const r = b.steps(M + `  - write: {addr: m+8, value: 1}\n  - write: {addr: m+0x1ff000, value: 2}\n  - read: {addr: m+8}\n`);
    assert.deepEqual([r[1]!.minflt, r[2]!.minflt, r[3]!.minflt], [1, 0, 0]);
    assert.equal(r[3]!.value, '0x1');
    assert.deepEqual(decisions(b.sink.events, 'do_huge_pmd_anonymous_page'), ['thp-allocated']);
    const k = b.s.k;
    assert.equal(k.current.mm!.rss_stat.anon, 2 + 512);
    assert.equal(k.vmstat.thp_fault_alloc, 1);
    assert.ok(b.sink.events.some((e) => e.ev === 'walk_ok' && e.pageSize === '2m'), 'the CPU walks to a 2 MiB leaf');
  });

  test(`linux ${v}: checklist 56: a range the VMA does not wholly cover falls back to 4 KiB; MADV_NOHUGEPAGE opts out`, () => {
    const b = bootPressure(v, { thp: 'always' });
    b.steps(`  - mmap: {as: u, addr: 0x200001000, length: 2m, prot: rw, flags: [private, anonymous, fixed]}\n  - write: {addr: u, value: 1}\n`);
    assert.deepEqual(decisions(b.sink.events, 'do_huge_pmd_anonymous_page'), ['not-suitable']);
    b.sink.events.length = 0;
    const r = b.steps(M + `  - madvise: {addr: m, length: 4m, advice: nohugepage}\n  - write: {addr: m, value: 1}\n  - write: {addr: m+4k, value: 1}\n`);
    assert.deepEqual([r[2]!.minflt, r[3]!.minflt], [1, 1]);
    assert.equal(decisions(b.sink.events, 'do_huge_pmd_anonymous_page').length, 0);
  });

  test(`linux ${v}: checklist 56: a read maps the huge zero page; a write there: ${v === '5.19' ? 'split into 4 KiB zero-page PTEs and one copy' : 'a new THP (6.14+ do_huge_zero_wp_pmd)'}`, () => {
    const b = bootPressure(v, { thp: 'madvise' });
    const r = b.steps(M + `  - madvise: {addr: m, length: 4m, advice: hugepage}
  - read: {addr: m+2m}
  - read: {addr: m+2m+0x1000}
  - write: {addr: m+2m+0x1000, value: 3}
  - read: {addr: m+2m+0x2000}
  - read: {addr: m+2m+0x1000}
`);
    assert.deepEqual(r.slice(2).map((x) => x.minflt), [1, 0, 1, 0, 0]);
    assert.deepEqual(decisions(b.sink.events, 'do_huge_pmd_anonymous_page'), ['huge-zero-page']);
    assert.deepEqual(decisions(b.sink.events, 'do_huge_pmd_wp_page'), [v === '5.19' ? 'huge-zero-split' : 'huge-zero-new-thp']);
    assert.equal(r[5]!.value, '0x0');
    assert.equal(r[5]!.page!.zero_page, v === '5.19', '5.19: the split left the 4 KiB zero page there');
    assert.equal(r[6]!.value, '0x3');
    assert.equal(b.s.k.current.mm!.rss_stat.anon, 2 + (v === '5.19' ? 1 : 512));
  });

  test(`linux ${v}: fork shares a THP write-protected (copy_huge_pmd); a write splits the writer's PMD and copies 4 KiB`, () => {
    const b = bootPressure(v, { thp: 'always' });
    const r = b.steps(M + `  - write: {addr: m, value: 1}
  - fork: {as: c}
  - write: {addr: m, value: 2}
    proc: c
  - read: {addr: m+4k}
    proc: c
  - read: {addr: m}
  - write: {addr: m+4k, value: 5}
  - read: {addr: m+4k}
    proc: c
`);
    assert.deepEqual(decisions(b.sink.events, 'copy_huge_pmd'), ['thp-shared']);
    assert.deepEqual(decisions(b.sink.events, 'do_huge_pmd_wp_page'), ['shared-split', 'shared-split']);
    assert.deepEqual([r[3]!.minflt, r[4]!.minflt, r[4]!.value, r[5]!.value, r[7]!.value], [1, 0, '0x0', '0x1', '0x0']);
    assert.equal(pressure(b.s.k).stat.thp_split_pmd, 2);
  });

  test(`linux ${v}: munmap of one page inside a THP splits it; the rest keeps its data; unmapping all frees all 512 frames`, () => {
    const b = bootPressure(v, { thp: 'always' });
    const free0 = b.s.k.memmap.nr_free;
    const r = b.steps(M + `  - write: {addr: m+8k, value: 7}\n  - munmap: {addr: m, length: 4k}\n  - read: {addr: m+8k}\n  - read: {addr: m}\n`);
    assert.equal(r[3]!.value, '0x7');
    assert.equal(r[3]!.minflt, 0, 'still mapped after the split');
    assert.equal(r[4]!.signal?.code, 1, 'the unmapped page: SEGV_MAPERR');
    assert.equal(b.s.k.current.mm!.rss_stat.anon, 2 + 511);
    b.steps(`  - write: {addr: m+2m, value: 8}\n  - munmap: {addr: m, length: 4m}\n`);
    assert.equal(b.s.k.current.mm!.rss_stat.anon, 2);
    assert.deepEqual(decisions(b.sink.events, 'zap_huge_pmd'), ['thp'], 'the whole second THP went as one PMD');
    assert.equal(pressure(b.s.k).stat.thp_split_pmd, 1, 'only the partial munmap split');
    assert.ok(b.s.k.memmap.nr_free >= free0 - 2, 'the THP frames and the split table are free again');
  });
}
