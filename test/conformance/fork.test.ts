// Host-kernel facts about fork and copy-on-write (linux.md §7 "fork", checklist #27-#30), pinned
// with exact values. Processes run one at a time in scenario order (`proc` hands over); pfn_ids
// are shared by all processes of a run, so "the same page as the parent's" is an equal pfn_id.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runOnHost, type HostStepRecord } from './host.js';
import { PF_USER, SEGV_MAPERR, anonPage, mapped, notMapped, ok, pf, run, segv, zeroPage } from './expect.js';

describe('fork: copy-on-write of private anonymous pages', () => {
  test('#27 #28 #29: both share the page; the child\'s write copies; the parent\'s later write reuses', () => {
    const r = run([
      'mmap a 1p rw private', 'write a 8 0x1111', 'fork child', 'page a', // 0-3, main
      'proc child', 'page a', 'read a 8', 'write a 8 0x2222',           // 4-7, child
      'proc main', 'page a', 'read a 8', 'write a 8 0x3333',            // 8-11, main
    ]);
    const orig = anonPage(r[1].page, 'written before fork');
    assert.equal(r[3].proc, 'main');
    assert.equal(anonPage(r[3].page, 'parent after fork', false), orig, 'mapped twice now: not exclusive');
    assert.equal(r[5].proc, 'child');
    assert.equal(anonPage(r[5].page, 'child after fork', false), orig, 'the child maps the same frame');
    // #29: the child's PTE was copied by copy_page_range, so its read does not fault.
    assert.equal(anonPage(ok(r[6], { minflt: 0 }), 'child read', false), orig);
    assert.equal(r[6].value, 0x1111n);
    // #28: the first write (either side) copies: do_wp_page -> wp_page_copy.
    const copy = anonPage(ok(r[7], { minflt: 1 }), 'child write');
    assert.notEqual(copy, orig);
    assert.equal(anonPage(r[9].page, 'parent, now the only mapper'), orig);
    ok(r[10], { minflt: 0 });
    assert.equal(r[10].value, 0x1111n, 'the child\'s write is not visible');
    // #27: fork write-protected the parent's PTE too, so its write faults, and with the child's
    // reference gone the page is reused (no copy: same frame).
    assert.equal(anonPage(ok(r[11], { minflt: 1 }), 'parent write'), orig);
  });

  test('#28: the parent writes first: the parent gets the copy, the child later reuses the original', () => {
    const r = run(['mmap a 1p rw private', 'write a 1 1', 'fork c', 'write a 1 2', 'proc c', 'page a', 'write a 1 3']);
    const orig = anonPage(r[1].page, 'before fork');
    const copy = anonPage(ok(r[3], { minflt: 1 }), 'parent write');
    assert.notEqual(copy, orig);
    assert.equal(anonPage(r[5].page, 'child'), orig);
    assert.equal(anonPage(ok(r[6], { minflt: 1 }), 'child write'), orig);
  });

  test('#28: three sharers: the first two writers copy, the last one reuses', () => {
    const r = run(['mmap a 1p rw private', 'write a 1 1', 'fork c1', 'fork c2',
      'proc c1', 'write a 1 2', 'proc c2', 'write a 1 3', 'proc main', 'write a 1 4']);
    const orig = anonPage(r[1].page, 'before fork');
    const c1 = anonPage(ok(r[5], { minflt: 1 }), 'c1 write');
    const c2 = anonPage(ok(r[7], { minflt: 1 }), 'c2 write');
    assert.equal(new Set([orig, c1, c2]).size, 3, 'three live frames');
    assert.equal(anonPage(ok(r[9], { minflt: 1 }), 'main write'), orig);
  });

  test('#28: after the child exits, the parent\'s write still faults (PTE read-only) and reuses the page', () => {
    // pagemap's "exclusive" bit is mapcount == 1, which is already true; PageAnonExclusive is
    // not (fork cleared it), so the write goes through do_wp_page and its refcount check.
    const r = run(['mmap a 1p rw private', 'write a 1 1', 'fork c', 'proc c', 'exit', 'proc main', 'page a',
      'write a 1 2']);
    const orig = anonPage(r[1].page, 'before fork');
    assert.deepEqual([r[4].op, r[4].proc, r[5].proc], ['exit', 'c', 'c'], 'the exiting process hands over');
    assert.equal(anonPage(r[6].page, 'after the child exited'), orig);
    assert.equal(anonPage(ok(r[7], { minflt: 1 }), 'parent write'), orig);
  });

  test('#34 [6.x] + #27: mprotect(READ|WRITE) does not make a COW-shared page writable: the write copies', () => {
    const r = run(['mmap a 1p rw private', 'write a 1 1', 'fork c', 'mprotect a 1p r', 'mprotect a 1p rw',
      'write a 1 2']);
    const orig = anonPage(r[1].page, 'before fork');
    assert.notEqual(anonPage(ok(r[5], { minflt: 1 }), 'write after mprotect'), orig);
  });

  test('#29 (surprise): a VMA holding only the zero page has no anon_vma, so fork copies no PTEs', () => {
    // vma_needs_copy() copies PTEs only if the VMA has an anon_vma; a read fault maps the zero
    // page without anon_vma_prepare(). One written page in the VMA is enough to copy them all.
    // The PROT_NONE page keeps z and w from merging into one VMA (see the next test).
    const r = run(['mmap z 1p rw private', 'read z 1', 'mmap gap 1p none private', 'mmap w 2p rw private',
      'read w 1', 'write w+0x1000 1 1', 'fork c', 'proc c', 'page z', 'read z 1', 'page w', 'write w 1 1']);
    zeroPage(r[1].page, 'parent z');
    notMapped(r[8].page, 'child z: no PTE');
    zeroPage(ok(r[9], { minflt: 1 }), 'child z read');
    zeroPage(r[10].page, 'child w: the zero-page PTE was copied');
    anonPage(ok(r[11], { minflt: 1 }), 'child write to the zero page');
  });

  test('#36 + #29: adjacent compatible mmaps merge into one VMA, so a write in one gives both an anon_vma', () => {
    // Top-down placement puts w directly below z; vma_merge() joins them (same flags, no anon_vma
    // yet), so z's zero-page PTE is copied at fork although z itself was never written.
    const r = run(['mmap z 1p rw private', 'read z 1', 'mmap w 1p rw private', 'write w 1 1', 'fork c', 'proc c',
      'page z']);
    assert.equal(r[2].addr, r[0].addr! - 0x1000n, 'w is right below z');
    zeroPage(r[6].page, 'child z: copied');
  });
});

describe('fork: shared memory and madvise flags', () => {
  test('#15 #29: shared anon (shmem) is not copied: the child faults once, on the same frame, and writes through', () => {
    const r = run(['mmap s 1p rw shared', 'write s 1 9', 'fork c', 'proc c', 'page s', 'read s 1', 'write s 1 10',
      'proc main', 'read s 1']);
    const p = mapped(r[1].page, 'parent shmem');
    notMapped(r[4].page, 'child: no PTE copied');
    const c = mapped(ok(r[5], { minflt: 1 }), 'child read');
    assert.deepEqual({ id: c.pfnId, file: c.file, exclusive: c.exclusive, value: r[5].value },
      { id: p.pfnId, file: true, exclusive: false, value: 9n });
    // The shmem read fault mapped the PTE writable (no writenotify), so the write does not fault.
    assert.equal(mapped(ok(r[6], { minflt: 0 }), 'child write').pfnId, p.pfnId);
    ok(r[8], { minflt: 0 });
    assert.equal(r[8].value, 10n, 'the parent sees the child\'s write');
  });

  test('#30: MADV_DONTFORK: the child has no VMA (MAPERR); MADV_WIPEONFORK: the child reads zeros', () => {
    const r = run(['mmap f 1p rw private', 'write f 1 1', 'madvise f 1p dontfork', 'mmap w 1p rw private',
      'write w 1 0x77', 'madvise w 1p wipeonfork', 'fork c', 'proc c', 'read f 1', 'page w', 'read w 1',
      'proc main', 'read w 1']);
    segv(r[8], pf(SEGV_MAPERR, PF_USER, r[0].addr!));
    notMapped(r[9].page, 'wiped: the VMA is there, no PTEs');
    zeroPage(ok(r[10], { minflt: 1 }), 'child read of the wiped page');
    assert.equal(r[10].value, 0n);
    ok(r[12], { minflt: 0 });
    assert.equal(r[12].value, 0x77n, 'the parent keeps its data');
  });
});

describe('the probe across processes', () => {
  test('records come in scenario order with the running process; a grandchild shares the numbering', () => {
    const r = run(['mmap a 1p rw private', 'write a 1 1', 'fork c', 'proc c', 'fork g', 'proc g', 'page a',
      'write a 1 2', 'proc main', 'page a']);
    assert.deepEqual(r.map((x) => x.proc), ['main', 'main', 'main', 'main', 'c', 'c', 'g', 'g', 'g', 'main']);
    const orig = anonPage(r[1].page, 'main');
    assert.equal(anonPage(r[6].page, 'grandchild', false), orig);
    assert.notEqual(anonPage(ok(r[7], { minflt: 1 }), 'grandchild write'), orig);
    assert.equal(anonPage(r[9].page, 'main, still shared with c', false), orig);
  });

  test('deterministic: the same scenario gives the same records (PFN values aside) run after run', () => {
    const steps = ['mmap a 2p rw private', 'write a 1 1', 'read a+0x1000 1', 'fork c', 'proc c', 'write a 1 2',
      'read 0 1', 'proc main', 'write a+0x1000 1 3', 'write 0x8000000000000000 1 1', 'madvise a 2p dontneed',
      'read a 1'];
    const strip = (rs: HostStepRecord[]): unknown[] => rs.map((x) => ({ ...x, page: x.page && { ...x.page, pfn: null } }));
    const first = strip(runOnHost(steps));
    for (let i = 0; i < 3; i++) assert.deepEqual(strip(runOnHost(steps)), first);
  });
});
