// Per-decision tests of file faults and the page cache (issue 5: fs/fs.ts, mm/filemap.ts,
// mm/readahead.ts and the file half of mm/memory.c), named by checklist item of
// ../shared/reference/linux.md. Faults on cached files run through handle_mm_fault directly;
// major faults (which drop the fault lock and RETRY) run through the whole #PF path with a scenario.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create_file, do_sys_open, drop_pagecache, fsglobals, O_RDONLY, O_RDWR, O_WRONLY } from '../../../../src/kernel/linux/fs/fs.js';
import { EACCES } from '../../../../src/kernel/linux/include/uapi/asm-generic/errno-base.js';
import { VM_FAULT_MAJOR, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_MAYWRITE, VM_SHARED } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { MAP_FIXED, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { get_init_ra_size } from '../../../../src/kernel/linux/mm/readahead.js';
import { sys_madvise } from '../../../../src/kernel/linux/mm/madvise.js';
import { sys_mmap, sys_munmap } from '../../../../src/kernel/linux/mm/mmap.js';
import { sys_mprotect } from '../../../../src/kernel/linux/mm/mprotect.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { runScenario } from '../../../../src/workload/runner.js';
import { parseScenario } from '../../../../src/workload/scenario/parse.js';
import type { StepResult } from '../../../../src/workload/result.js';
import { bootKernel, decisions, entered, fault, forkTask, mmOf, pfnAt, switchTo, touch, userAccess, VERSIONS, type TestKernel } from '../mm/kernel.js';

const RW = PROT_READ | PROT_WRITE;
const BASE = 0x200000000; // 64 KiB- and 2 MiB-aligned: windows are easy to read
const MADV_DONTNEED = 4;
const MADV_RANDOM = 1;
const MADV_WILLNEED = 3;

/** A cached file of `pages` pages whose page i is filled with byte (i & 0xff). */
function makeFile(k: TestKernel, name: string, bytes: number): void {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = Math.floor(i / 4096) & 0xff;
  create_file(k, name, data);
}

/** mmap(addr, len, prot, flags|MAP_FIXED, open(name, mode), off), closing nothing (the fd is just a number). */
function mapFile(k: TestKernel, name: string, addr: number, len: number, prot: number, flags: number, off = 0, mode = O_RDWR): number {
  const fd = do_sys_open(k, name, mode);
  assert.ok(fd >= 0, `open ${name}`);
  return sys_mmap(k, addr, len, prot, flags | MAP_FIXED, fd, off);
}

/** Which of `n` pages from addr are mapped: a string of X and '.'. */
function mapped(k: TestKernel, addr: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += pfnAt(k, addr + i * 4096) === null ? '.' : 'X';
  return s;
}

const scenario = (body: string) => parseScenario(`name: files\nsteps:\n${body}`, 'files.yaml');
function run(v: string, body: string): StepResult[] {
  const [r] = runScenario(scenario(body), { kernels: [`linux-${v}`], trace: false });
  return r!.results;
}

for (const v of VERSIONS) {
  describe(`linux ${v}: file faults and the page cache`, () => {
    test('checklist 16: a read maps the page-cache page read-only (minor when cached); the first write copies it (FILE -1, ANON +1)', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 4 * 4096);
      const a = mapFile(k, 'f', BASE, 4 * 4096, RW, MAP_PRIVATE);
      assert.equal(a, BASE);
      const cachePfn = fsglobals(k).inodes.get('f')!.i_mapping.i_pages.get(1)!;
      assert.equal(fault(k, a + 4096, false), VM_FAULT_NOPAGE, 'fault-around mapped the target');
      assert.equal(pfnAt(k, a + 4096), cachePfn, 'the page-cache page itself');
      assert.deepEqual(touch(k, a + 4096, 'read'), { ok: true, value: 1n });
      assert.deepEqual(touch(k, a + 4096, 'write', 9n), { ok: false, err: 7 }, 'read-only: a protection fault');
      assert.equal(mmOf(k).rss_stat.file, 4);
      assert.equal(k.current.min_flt, 1);
      assert.equal(k.current.maj_flt, 0);
      fault(k, a + 4096, true);
      assert.deepEqual(decisions(k, 'do_wp_page'), ['page-cache-copy']);
      assert.notEqual(pfnAt(k, a + 4096), cachePfn);
      assert.deepEqual({ file: mmOf(k).rss_stat.file, anon: mmOf(k).rss_stat.anon }, { file: 3, anon: 1 });
      assert.deepEqual(touch(k, a + 4096, 'write', 9n), { ok: true, value: 9n });
      assert.equal(k.machine.mem.read8(cachePfn * 4096), 1, 'the file page is unchanged');
    });

    test('checklist 17: a first write to a private file page is one fault (do_cow_fault): an anon copy, no fault-around, file untouched', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 16 * 4096);
      const a = mapFile(k, 'f', BASE, 16 * 4096, RW, MAP_PRIVATE);
      assert.equal(fault(k, a + 3 * 4096, true), 0);
      assert.deepEqual(decisions(k, 'do_fault'), ['cow']);
      assert.ok(entered(k).includes('do_cow_fault') && !entered(k).includes('do_fault_around'));
      assert.equal(mapped(k, a, 16), '...X............');
      assert.deepEqual({ anon: mmOf(k).rss_stat.anon, file: mmOf(k).rss_stat.file }, { anon: 1, file: 0 });
      assert.ok(find_vma(k, mmOf(k), a)!.anon_vma, 'the VMA got an anon_vma');
      assert.deepEqual(touch(k, a + 3 * 4096, 'read'), { ok: true, value: 3n }, 'the copy holds the file bytes');
      assert.deepEqual(touch(k, a + 3 * 4096, 'write', 0x77n), { ok: true, value: 0x77n }, 'writable and dirty at once');
      const cached = fsglobals(k).inodes.get('f')!.i_mapping.i_pages.get(3)!;
      assert.equal(k.machine.mem.read8(cached * 4096), 3);
      assert.equal(k.memmap.refcount[cached], 1, 'only the page cache holds the file page');
    });

    test('checklist 18: a shared disk-file mapping is write-notified: read maps RO, the write faults again (page_mkwrite); write-first is one fault', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 32 * 4096);
      const a = mapFile(k, 'f', BASE, 32 * 4096, RW, MAP_SHARED);
      const vma = find_vma(k, mmOf(k), a)!;
      assert.equal(vma.vm_page_prot.lo & 2, 0, 'vm_page_prot is the private (read-only) one');
      fault(k, a, false);
      assert.deepEqual(touch(k, a, 'write', 0x41n), { ok: false, err: 7 });
      fault(k, a, true);
      assert.deepEqual(decisions(k, 'do_wp_page'), ['shared-page-mkwrite']);
      assert.deepEqual(decisions(k, 'ext4_page_mkwrite'), ['page-dirtied']);
      assert.deepEqual(touch(k, a, 'write', 0x41n), { ok: true, value: 0x41n });
      const pages = fsglobals(k).inodes.get('f')!.i_mapping.i_pages;
      assert.equal(pfnAt(k, a), pages.get(0), 'the page cache page, written in place');
      assert.ok(k.memmap.page(pages.get(0)!).flags.includes('dirty'));
      // write-first on the other half: do_shared_fault, one fault, no fault-around
      assert.equal(fault(k, a + 20 * 4096, true), 0);
      assert.deepEqual(decisions(k, 'do_fault'), ['read', 'shared']);
      assert.equal(mapped(k, a + 16 * 4096, 16), '....X...........');
      assert.deepEqual(touch(k, a + 20 * 4096, 'write', 0x42n), { ok: true, value: 0x42n });
      assert.equal(k.current.min_flt, 3);
    });

    test('checklist 19: fault-around maps the 16-page window of cached pages, clipped to the VMA start, the VMA end and EOF', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 40 * 4096 + 100); // 41 pages, the last one partial
      const a = mapFile(k, 'f', BASE, 48 * 4096, PROT_READ, MAP_PRIVATE);
      fault(k, a + 5 * 4096, false);
      assert.equal(mapped(k, a, 48), 'XXXXXXXXXXXXXXXX................................');
      fault(k, a + 37 * 4096, false);
      assert.equal(mapped(k, a + 32 * 4096, 16), 'XXXXXXXXX.......', 'pages 32..40 below EOF; 41.. are past it');
      // a VMA starting 3 pages into a window: [vm_start, vm_start + 16)
      const b = mapFile(k, 'f', BASE + 0x100000 + 3 * 4096, 20 * 4096, PROT_READ, MAP_PRIVATE);
      fault(k, b + 4096, false);
      assert.equal(mapped(k, b, 20), 'XXXXXXXXXXXXXXXX....');
      // a VMA ending inside a window
      const c = mapFile(k, 'f', BASE + 0x200000, 5 * 4096, PROT_READ, MAP_PRIVATE);
      fault(k, c, false);
      assert.equal(mapped(k, c, 5), 'XXXXX');
      // only cached pages: drop them (c's five are mapped and stay), then fault in another window
      sys_munmap(k, a, 48 * 4096);
      sys_munmap(k, b, 20 * 4096);
      assert.equal(drop_pagecache(k), 41 - 5);
      assert.deepEqual(decisions(k, 'invalidate_mapping_pages').at(-1), 'pages-dropped');
      const d = mapFile(k, 'f', BASE + 0x300000, 16 * 4096, PROT_READ, MAP_PRIVATE);
      fault(k, d, false);
      assert.equal(mapped(k, d, 16), 'XXXXX...........', 'filemap_map_pages maps cached pages only');
    });

    test('checklist 20: fault-around is for read faults on file VMAs only: not anon, not COW writes, not shared writes', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 16 * 4096);
      const p = mapFile(k, 'f', BASE, 16 * 4096, RW, MAP_PRIVATE);
      const s = mapFile(k, 'f', BASE + 0x100000, 16 * 4096, RW, MAP_SHARED);
      fault(k, p, true);
      fault(k, s, true);
      assert.equal(mapped(k, p, 16) + mapped(k, s, 16), 'X...............X...............');
      assert.ok(!entered(k).includes('do_fault_around'));
      const anon = sys_mmap(k, BASE + 0x200000, 16 * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED | 0x20, -1, 0);
      fault(k, anon, false);
      assert.equal(mapped(k, anon, 16), 'X...............');
      assert.ok(!entered(k).includes('do_fault_around'));
      fault(k, p + 4096, false);
      assert.ok(entered(k).includes('do_fault_around'));
    });

    test('checklist 21: past EOF is SIGBUS (filemap_fault beyond-eof); the tail of the EOF page reads zeros and a write there stays out of the file', () => {
      const k = bootKernel(v, { trace: true });
      create_file(k, 'f', new Uint8Array(5000).fill(0x78));
      const a = mapFile(k, 'f', BASE, 3 * 4096, RW, MAP_SHARED);
      assert.equal(fault(k, a + 2 * 4096, false), VM_FAULT_SIGBUS);
      assert.deepEqual(decisions(k, 'filemap_fault'), ['beyond-eof']);
      assert.equal(k.current.min_flt + k.current.maj_flt, 0, 'a failed fault counts nothing');
      assert.deepEqual(userAccess(k, a + 4999, 'read'), { ok: true, value: 0x78n });
      assert.deepEqual(touch(k, a + 5000, 'read'), { ok: true, value: 0n });
      assert.deepEqual(userAccess(k, a + 5000, 'write', 0x54n), { ok: true, value: 0x54n });
      assert.equal(fsglobals(k).inodes.get('f')!.disk.length, 5000, 'the file keeps its size');
    });

    test('checklist 25: MAP_POPULATE of a private writable file mapping copies every page (GUP, FOLL_WRITE): min_flt per page, no perf events', () => {
      const k = bootKernel(v);
      makeFile(k, 'f', 8 * 4096);
      const a = mapFile(k, 'f', BASE, 8 * 4096, RW, MAP_PRIVATE | MAP_POPULATE);
      assert.equal(mapped(k, a, 8), 'XXXXXXXX');
      assert.equal(mmOf(k).rss_stat.anon, 8);
      assert.equal(k.current.min_flt, 8);
      assert.equal(k.perf.page_faults_min, 0);
      const r = mapFile(k, 'f', BASE + 0x100000, 8 * 4096, PROT_READ, MAP_PRIVATE | MAP_POPULATE);
      assert.equal(mapped(k, r, 8), 'XXXXXXXX');
      assert.equal(k.current.min_flt, 9, 'read-only: one fault-around fault maps all 8');
    });

    test('checklist 29: fork copies no PTEs of file VMAs without an anon_vma; the child refaults (minor)', () => {
      const k = bootKernel(v, { trace: true });
      makeFile(k, 'f', 16 * 4096);
      const r = mapFile(k, 'f', BASE, 16 * 4096, PROT_READ, MAP_PRIVATE);
      const p = mapFile(k, 'f', BASE + 0x100000, 16 * 4096, RW, MAP_PRIVATE);
      fault(k, r, false);
      fault(k, p, true);
      const child = forkTask(k, 'child', 2);
      assert.ok(decisions(k, 'copy_page_range').includes('no-anon-vma'));
      switchTo(k, child);
      assert.equal(pfnAt(k, r), null, 'not copied');
      assert.notEqual(pfnAt(k, p), null, 'the VMA with an anon_vma was copied');
      assert.equal(child.mm!.rss_stat.file + child.mm!.rss_stat.anon, 1);
      assert.deepEqual(userAccess(k, r + 4096, 'read'), { ok: true, value: 1n });
      assert.equal(child.min_flt, 1);
    });

    test('checklist 35: a shared mapping of a read-only descriptor has no VM_MAYWRITE: PROT_WRITE mmap and mprotect are EACCES; O_WRONLY cannot map', () => {
      const k = bootKernel(v);
      makeFile(k, 'f', 4096);
      assert.equal(mapFile(k, 'f', BASE, 4096, RW, MAP_SHARED, 0, O_RDONLY), -EACCES);
      assert.equal(mapFile(k, 'f', BASE, 4096, PROT_READ, MAP_PRIVATE, 0, O_WRONLY), -EACCES);
      const a = mapFile(k, 'f', BASE, 4096, PROT_READ, MAP_SHARED, 0, O_RDONLY);
      assert.equal(a, BASE);
      const vma = find_vma(k, mmOf(k), a)!;
      assert.equal(vma.vm_flags & (VM_SHARED | VM_MAYWRITE), 0);
      assert.equal(sys_mprotect(k, a, 4096, RW), -EACCES);
      assert.equal(mapFile(k, 'f', BASE + 0x100000, 4096, RW, MAP_PRIVATE, 0, O_RDONLY), BASE + 0x100000, 'private: writes copy');
    });

    test('checklist 40: MADV_DONTNEED on a private file mapping drops the copies: the file contents come back', () => {
      const k = bootKernel(v);
      makeFile(k, 'f', 4 * 4096);
      const a = mapFile(k, 'f', BASE, 4 * 4096, RW, MAP_PRIVATE);
      userAccess(k, a + 4096, 'write', 0x99n);
      assert.deepEqual(touch(k, a + 4096, 'read'), { ok: true, value: 0x99n });
      assert.equal(sys_madvise(k, a, 4 * 4096, MADV_DONTNEED), 0);
      assert.equal(mapped(k, a, 4), '....');
      assert.equal(mmOf(k).rss_stat.anon + mmOf(k).rss_stat.file, 0);
      assert.deepEqual(userAccess(k, a + 4096, 'read'), { ok: true, value: 1n });
    });

    test('drop_caches drops clean, unmapped pages only; a dirty or mapped page stays', () => {
      const k = bootKernel(v);
      makeFile(k, 'f', 4 * 4096);
      const s = mapFile(k, 'f', BASE, 4 * 4096, RW, MAP_SHARED);
      userAccess(k, s, 'write', 1n); // page 0: dirty
      sys_munmap(k, s, 4 * 4096);
      const r = mapFile(k, 'f', BASE, 4096, PROT_READ, MAP_PRIVATE, 4096); // page 1: mapped
      fault(k, r, false);
      assert.equal(drop_pagecache(k), 2);
      assert.deepEqual([...fsglobals(k).inodes.get('f')!.i_mapping.i_pages.keys()].sort(), [0, 1]);
    });

    test('readahead: MADV_WILLNEED reads the range into the cache; get_init_ra_size as mm/readahead.c', () => {
      const k = bootKernel(v);
      makeFile(k, 'f', 8 * 4096);
      assert.equal(drop_pagecache(k), 8);
      const a = mapFile(k, 'f', BASE, 8 * 4096, PROT_READ, MAP_PRIVATE);
      assert.equal(sys_madvise(k, a + 2 * 4096, 3 * 4096, MADV_WILLNEED), 0);
      assert.deepEqual([...fsglobals(k).inodes.get('f')!.i_mapping.i_pages.keys()].sort(), [2, 3, 4]);
      assert.equal(fsglobals(k).disk_reads, 3);
      assert.deepEqual([1, 2, 4, 8, 16].map((r) => get_init_ra_size(r, 32)), [4, 4, 8, 16, 32]);
      assert.deepEqual([1, 4, 64, 1024].map((r) => get_init_ra_size(r, 2048)), [4, 16, 256, 2048]);
    });
  });

  describe(`linux ${v}: major faults through the #PF path`, () => {
    test('checklist 16 + 23: after drop_caches a read is a major fault: PGMAJFAULT, read-around, RETRY; the retry maps the window', () => {
      const r = run(v, `  - file: {as: f, size: 64k, content: "abcd"}
  - drop_caches: {}
  - mmap: {as: m, addr: 0x200000000, length: 64k, prot: r, flags: [private, fixed], file: f}
  - read: {addr: m+0x3000}
  - read: {addr: m+0xf000}
  - read: {addr: m+0x3000}`);
      assert.equal(r[1]!.ret, '0x10');
      assert.deepEqual(r.slice(3).map((x) => [x.outcome, x.minflt, x.majflt, x.value]), [['ok', 0, 1, '0x61'], ['ok', 0, 0, '0x61'], ['ok', 0, 0, '0x61']]);
    });

    test('checklist 23: the major fault returns VM_FAULT_MAJOR|RETRY and the retry (FAULT_FLAG_TRIED) counts once, as major', () => {
      const s = scenario(`  - file: {as: f, size: 16k}
  - drop_caches: {}
  - mmap: {as: m, length: 16k, prot: r, flags: [private], file: f}
  - read: {addr: m}`);
      const [run1] = runScenario(s, { kernels: [`linux-${v}`] });
      const ev = run1!.events;
      const leaves = ev.flatMap((e) => (e.ev === 'leave' && e.fn === 'handle_mm_fault' ? [e.ret] : []));
      assert.deepEqual(leaves, ['VM_FAULT_MAJOR|VM_FAULT_RETRY', 'VM_FAULT_NOPAGE']);
      const acc = ev.flatMap((e) => (e.ev === 'decision' && e.fn === 'mm_account_fault' ? [e.reason] : []));
      assert.deepEqual(acc, ['major']);
      assert.equal(run1!.results[3]!.majflt, 1);
      assert.ok(VM_FAULT_MAJOR === 4);
    });

    test('MADV_RANDOM: no read-around, so the neighbour is another major fault', () => {
      const r = run(v, `  - file: {as: f, size: 64k}
  - drop_caches: {}
  - mmap: {as: m, addr: 0x200000000, length: 64k, prot: r, flags: [private, fixed], file: f}
  - madvise: {addr: m, length: 64k, advice: random}
  - read: {addr: m+0x3000}
  - read: {addr: m+0x4000}`);
      assert.deepEqual(r.slice(4).map((x) => [x.minflt, x.majflt]), [[0, 1], [0, 1]]);
    });

    test('a shared write after a drop: one major fault (do_shared_fault via RETRY), then page_mkwrite on the next page', () => {
      const r = run(v, `  - file: {as: f, size: 64k, content: "s"}
  - drop_caches: {}
  - mmap: {as: s, addr: 0x200000000, length: 64k, prot: rw, flags: [shared, fixed], file: f}
  - write: {addr: s, value: 1}
  - read: {addr: s+0x1000}
  - write: {addr: s+0x1000, value: 2}
  - pread: {file: f, offset: 0x1000, size: 1}`);
      assert.deepEqual(r.slice(3).map((x) => [x.minflt, x.majflt]), [[0, 1], [1, 0], [1, 0], [0, 0]]);
      assert.equal(r[6]!.value, '0x2');
    });
  });
}

test('MADV_RANDOM constant and O_ modes are the uapi values', () => {
  assert.deepEqual([MADV_RANDOM, O_RDONLY, O_WRONLY, O_RDWR], [1, 0, 1, 2]);
});

test('file {content: {host: PATH}} reads through the runner\'s reader (size defaults to the host file\'s); without one it is a step error', () => {
  const s = scenario(`  - file: {as: h, content: {host: data.bin}}
  - mmap: {as: m, length: 4k, prot: r, flags: [private], file: h}
  - read: {addr: m+1}
  - read: {addr: m+3}
  - file: {as: t, size: 2, content: {host: data.bin}}
  - pread: {file: t, offset: 0, size: 4}`);
  const reader = (p: string) => (p === 'data.bin' ? new Uint8Array([7, 8, 9]) : new Uint8Array());
  const [r] = runScenario(s, { kernels: ['linux-6.18'], trace: false, readHostFile: reader });
  assert.deepEqual(r!.results.map((x) => [x.outcome, x.ret ?? x.value]), [['ok', '0x3'], ['ok', '0x7ffff7ffe000'], ['ok', '0x8'], ['ok', '0x0'], ['ok', '0x2'], ['ok', '0x2']]);
  assert.equal(r!.results[5]!.value, '0x807');
  const [none] = runScenario(s, { kernels: ['linux-6.18'], trace: false });
  assert.match(none!.results[0]!.message!, /files\.yaml:3:\d+: content \{host: PATH\} needs the command line/);
});

for (const v of VERSIONS) {
  test(`linux ${v}: mprotect(RW) on a write-notified shared mapping makes dirty PTEs writable again (5.19 MM_CP_DIRTY_ACCT, 6.x can_change_pte_writable); clean ones stay read-only`, () => {
    const k = bootKernel(v);
    makeFile(k, 'f', 2 * 4096);
    const s = mapFile(k, 'f', BASE, 2 * 4096, RW, MAP_SHARED);
    userAccess(k, s, 'write', 1n); // page 0: dirty, writable
    userAccess(k, s + 4096, 'read'); // page 1: clean, read-only (writenotify)
    assert.equal(sys_mprotect(k, s, 2 * 4096, PROT_READ), 0);
    assert.equal(sys_mprotect(k, s, 2 * 4096, RW), 0);
    assert.deepEqual(touch(k, s, 'write', 2n), { ok: true, value: 2n });
    assert.deepEqual(touch(k, s + 4096, 'write', 3n), { ok: false, err: 7 });
  });
}

describe('readahead marks (PG_readahead) and async readahead', () => {
  const body = `  - file: {as: f, size: 80k}
  - drop_caches: {}
  - mmap: {as: m, addr: 0x200000000, length: 80k, prot: r, flags: [private, fixed], file: f}
  - read: {addr: m}
  - read: {addr: m+0xb000}
  - read: {addr: m+0xc000}
  - read: {addr: m+0xc000}`;
  test('5.19 marks the read-around window clipped at EOF: page 12 of a 20-page file is left unmapped, and touching it starts an async readahead whose RETRY makes the fault major', () => {
    const r = run('5.19', body);
    assert.deepEqual(r.slice(3).map((x) => [x.minflt, x.majflt]), [[0, 1], [0, 0], [0, 1], [0, 0]]);
  });
  test('6.18 (ext4 large folios: page_cache_ra_order) counts the mark from the unclipped window: past EOF, so no mark and no fault', () => {
    const r = run('6.18', body);
    assert.deepEqual(r.slice(3).map((x) => [x.minflt, x.majflt]), [[0, 1], [0, 0], [0, 0], [0, 0]]);
  });
  test('6.18: a mark inside the file (a 64-page file) is skipped by fault-around; its hit reads the next window ahead and is minor (a VMA-lock RETRY without MAJOR sets no TRIED)', () => {
    const r = run('6.18', `  - file: {as: f, size: 256k}
  - drop_caches: {}
  - mmap: {as: m, addr: 0x200000000, length: 256k, prot: r, flags: [private, fixed], file: f}
  - read: {addr: m}
  - read: {addr: m+0x17000}
  - read: {addr: m+0x18000}
  - read: {addr: m+0x19000}
  - read: {addr: m+0x3f000}`);
    // read-around [0, 32) marks page 24; fault-around of [16, 32) skips it; the hit on 24 reads [32, 64)
    assert.deepEqual(r.slice(3).map((x) => [x.minflt, x.majflt]), [[0, 1], [1, 0], [1, 0], [0, 0], [1, 0]]);
  });
});

test('a file larger than 64 MiB is a step error before anything is allocated', () => {
  const [r] = runScenario(scenario('  - file: {as: f, size: 1g}'), { kernels: ['linux-6.18'], trace: false });
  assert.match(r!.results[0]!.message!, /files\.yaml:3:\d+: a file is at most 64 MiB in the model/);
});
