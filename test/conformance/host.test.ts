// Facts about the host's real Linux kernel (6.x, x86-64) that the Linux model must reproduce, each
// pinned with exact values and named by its item in the checklist of ../shared/reference/linux.md.
// Single-process anonymous memory, signals, mprotect, munmap, mmap, madvise, mlock, brk and stacks;
// fork is in fork.test.ts. The probe (probe.c) keeps THP out of the way and counts only the step's
// own faults; see README.md.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProbeOutput, runOnHost, runProbe } from './host.js';
import {
  PF_INSTR, PF_PROT, PF_USER, PF_WRITE, SEGV_ACCERR, SEGV_MAPERR, SI_KERNEL, X86_TRAP_GP, X86_TRAP_PF,
  anonPage, failed, mapped, notMapped, ok, pf, run, segv, zeroPage,
} from './expect.js';

describe('the probe itself', () => {
  test('setup: the zero page was found, THP is disabled, ASLR is off so addresses repeat', () => {
    const { setup } = runProbe([]);
    assert.ok(setup.zeroPfn > 0n);
    assert.equal(setup.thpDisabled, true);
    assert.equal(setup.aslr, false);
    assert.match(setup.kernel, /^\d+\.\d+/);
  });

  test('a bad step is refused before anything runs, with the line number', () => {
    assert.throws(() => runOnHost(['mmap a 1p rw private', 'frobnicate a']), /line 2: unknown step 'frobnicate'/);
    assert.throws(() => runOnHost(['read b 1']), /line 1: unknown name 'b'/);
    assert.throws(() => runOnHost(['fork c', 'proc c', 'exit', 'read 0 1']), /after exit, the next step must be proc/);
  });

  test('malformed probe output is reported with its line', () => {
    assert.throws(() => parseProbeOutput('not json\n', []), /line 1 is not JSON/);
    assert.throws(() => parseProbeOutput('{"setup":{}}\n', []), /line 1 is malformed/);
  });

  test('blank and comment lines get no record; step numbers stay the input line numbers', () => {
    const r = runOnHost(['# a comment', '', 'mmap a 1p rw private', 'read a 1']);
    assert.deepEqual(r.map((x) => [x.step, x.op]), [[2, 'mmap'], [3, 'read']]);
  });
});

describe('private anonymous memory: do_anonymous_page and do_wp_page', () => {
  test('#12 #39: mmap populates nothing; the first read maps the shared zero page (one minor fault, reads 0)', () => {
    const [m, rd, again] = run(['mmap a 1p rw private', 'read a+0x10 8', 'read a 8']);
    notMapped(ok(m, { minflt: 0 }), 'after mmap');
    zeroPage(ok(rd, { minflt: 1 }), 'after the read');
    assert.equal(rd.value, 0n);
    zeroPage(ok(again, { minflt: 0 }), 'second read');
  });

  test('#13: a write to the zero page takes a second minor fault and gets its own zeroed page', () => {
    const [, , wr, rd] = run(['mmap a 1p rw private', 'read a 8', 'write a 8 0x4142', 'read a 8']);
    anonPage(ok(wr, { minflt: 1 }), 'after the write');
    assert.equal(ok(rd, { minflt: 0 })!.pfnId, wr.page!.pfnId);
    assert.equal(rd.value, 0x4142n);
  });

  test('#14: the first write is one minor fault (a real page); later writes do not fault', () => {
    const [, w1, w2, w3] = run(['mmap a 2p rw private', 'write a 1 1', 'write a+0xfff 1 2', 'write a+0x1000 1 3']);
    const first = anonPage(ok(w1, { minflt: 1 }), 'first write');
    assert.equal(anonPage(ok(w2, { minflt: 0 }), 'same page'), first);
    const second = anonPage(ok(w3, { minflt: 1 }), 'second page');
    assert.notEqual(second, first, 'two live pages, two frames');
  });

  test('#10: a read of PROT_WRITE-only memory succeeds (x86 cannot express write-only) and maps the zero page', () => {
    const [, rd] = run(['mmap w 1p w private', 'read w 4']);
    zeroPage(ok(rd, { minflt: 1 }), 'PROT_WRITE read');
  });

  test('#15: MAP_SHARED|MAP_ANONYMOUS is shmem: a read allocates a real page, and the write after it does not fault', () => {
    const [, rd, wr] = run(['mmap s 1p rw shared', 'read s 1', 'write s 1 9']);
    const p = mapped(ok(rd, { minflt: 1 }), 'shmem read');
    // pagemap bit 61 (PM_FILE) is set for shmem pages: they are not PageAnon.
    assert.deepEqual({ zero: p.zero, file: p.file }, { zero: false, file: true });
    assert.equal(mapped(ok(wr, { minflt: 0 }), 'shmem write').pfnId, p.pfnId);
  });
});

describe('bad addresses: bad_area and #GP', () => {
  test('#6 #52: NULL (below every VMA) -> SEGV_MAPERR at 0, error 4 read / 6 write / 0x14 fetch', () => {
    const [rd, wr, ex] = run(['read 0 1', 'write 0 8 1', 'exec 0']);
    segv(rd, pf(SEGV_MAPERR, PF_USER, 0n));
    segv(wr, pf(SEGV_MAPERR, PF_USER | PF_WRITE, 0n));
    segv(ex, pf(SEGV_MAPERR, PF_USER | PF_INSTR, 0n));
  });

  test('#6 #37: an access to an unmapped page -> SEGV_MAPERR with the exact address (not page-aligned)', () => {
    const [m, , un, rd, wr] = run(['mmap a 2p rw private', 'write a+0x1000 1 1', 'munmap a+0x1000 1p',
      'read a+0x1123 1', 'write a+0x1ff8 8 1']);
    const a = m.addr!;
    notMapped(ok(un, { minflt: 0 }), 'after munmap');
    segv(rd, pf(SEGV_MAPERR, PF_USER, a + 0x1123n));
    segv(wr, pf(SEGV_MAPERR, PF_USER | PF_WRITE, a + 0x1ff8n));
  });

  test('#4: addresses >= TASK_SIZE_MAX (0x7ffffffff000) take the kernel-address path: MAPERR with PROT forced on', () => {
    // The hardware error code is 4/6 (not present); sanitize_error_code() ORs in PROT for any
    // address >= TASK_SIZE_MAX so user space cannot probe the kernel's layout (linux.md §4.4).
    const [top, kern] = run(['write 0x7ffffffff000 1 1', 'read 0xffffffff81000000 8']);
    segv(top, pf(SEGV_MAPERR, PF_USER | PF_WRITE | PF_PROT, 0x7ffffffff000n));
    segv(kern, pf(SEGV_MAPERR, PF_USER | PF_PROT, 0xffffffff81000000n));
  });

  test('#5: a non-canonical address raises #GP: SI_KERNEL, si_addr 0, trapno 13, err 0, no fault counted', () => {
    // gp_user_force_sig_segv() sets thread.trap_nr and error_code but not thread.cr2, so the
    // sigcontext's cr2 still holds the address of this thread's previous #PF signal.
    const [prev, gp] = run(['read 0x1234 1', 'write 0x8000000000000000 1 1']);
    segv(prev, pf(SEGV_MAPERR, PF_USER, 0x1234n));
    segv(gp, { code: SI_KERNEL, addr: 0n, trapno: X86_TRAP_GP, err: 0, cr2: 0x1234n });
    assert.equal(gp.page, null, 'pagemap has no entry for a non-canonical address');
  });

  test('#55: vsyscall page (xonly): a read -> MAPERR error 5; a call to an entry point is emulated', () => {
    const [rd, gtod, time, getcpu, write] = run(['read 0xffffffffff600000 1', 'exec 0xffffffffff600000',
      'exec 0xffffffffff600400', 'exec 0xffffffffff600800', 'write 0xffffffffff600000 1 1']);
    segv(rd, pf(SEGV_MAPERR, PF_USER | PF_PROT, 0xffffffffff600000n));
    // emulate_vsyscall runs gettimeofday/time/getcpu with the probe's zero arguments and returns
    // to the caller: no signal, and no min_flt (the fault never reaches handle_mm_fault).
    for (const r of [gtod, time, getcpu]) ok(r, { minflt: 0 });
    segv(write, pf(SEGV_MAPERR, PF_USER | PF_WRITE | PF_PROT, 0xffffffffff600000n));
  });

  test('#55 (surprise): a misaligned vsyscall call -> SIGSEGV SI_KERNEL at 0, sigcontext left stale', () => {
    // emulate_vsyscall's "misaligned vsyscall" path ends in force_sig(SIGSEGV) without
    // set_signal_archinfo, so trapno/err/cr2 are the previous #PF signal's (here the NULL write).
    const [, bad] = run(['write 0 1 1', 'exec 0xffffffffff600100']);
    segv(bad, { code: SI_KERNEL, addr: 0n, trapno: X86_TRAP_PF, err: PF_USER | PF_WRITE, cr2: 0n });
  });
});

describe('access rights: access_error -> SEGV_ACCERR', () => {
  test('#7: a write to PROT_READ memory: not present -> error 6, present -> error 7; no page is allocated', () => {
    const [m, w1, rd, w2] = run(['mmap r 1p r private', 'write r+8 1 1', 'read r 1', 'write r+8 1 1']);
    segv(w1, pf(SEGV_ACCERR, PF_USER | PF_WRITE, m.addr! + 8n));
    notMapped(w1.page, 'after the refused write');
    zeroPage(ok(rd, { minflt: 1 }), 'the read maps the zero page');
    segv(w2, pf(SEGV_ACCERR, PF_USER | PF_WRITE | PF_PROT, m.addr! + 8n));
    zeroPage(w2.page, 'still the zero page');
  });

  test('#8: PROT_NONE memory: read -> ACCERR error 4, write -> error 6 (not-present: no PTE yet)', () => {
    const [m, rd, wr] = run(['mmap n 1p none private', 'read n 1', 'write n 1 1']);
    segv(rd, pf(SEGV_ACCERR, PF_USER, m.addr!));
    segv(wr, pf(SEGV_ACCERR, PF_USER | PF_WRITE, m.addr!));
    notMapped(wr.page, 'PROT_NONE');
  });

  test('#3 #33: mprotect(PROT_NONE) keeps the page: pagemap says present, the CPU says not present (error 4/6)', () => {
    // A PROT_NONE PTE is P=0 with _PAGE_PROTNONE: hardware not-present, so the error code has no
    // PROT bit, but pte_present() is true to the kernel, so pagemap reports the page and its PFN.
    const [m, w, none, rd, wr, rw, back, w2] = run(['mmap m 1p rw private', 'write m 1 0x77', 'mprotect m 1p none',
      'read m 1', 'write m 1 1', 'mprotect m 1p rw', 'read m 1', 'write m 1 8']);
    const id = anonPage(ok(w, { minflt: 1 }), 'written');
    assert.equal(anonPage(ok(none, { minflt: 0 }), 'protnone'), id);
    segv(rd, pf(SEGV_ACCERR, PF_USER, m.addr!));
    segv(wr, pf(SEGV_ACCERR, PF_USER | PF_WRITE, m.addr!));
    ok(rw, { minflt: 0 });
    assert.equal(ok(back, { minflt: 0 })!.pfnId, id);
    assert.equal(back.value, 0x77n, 'the contents survive');
    // #34 [6.x]: mprotect made the exclusive anon PTE writable directly (no write fault).
    assert.equal(anonPage(ok(w2, { minflt: 0 }), 'write after mprotect rw'), id);
  });

  test('#34 [6.x]: mprotect(READ) then mprotect(READ|WRITE): the next write does not fault', () => {
    const [, , ro, wr, , w2] = run(['mmap a 1p rw private', 'write a 1 5', 'mprotect a 1p r', 'write a 1 6',
      'mprotect a 1p rw', 'write a 1 7']);
    const id = anonPage(ok(ro, { minflt: 0 }), 'read-only now');
    segv(wr, pf(SEGV_ACCERR, PF_USER | PF_WRITE | PF_PROT, ro.addr!));
    assert.equal(anonPage(ok(w2, { minflt: 0 }), 'writable again'), id);
  });

  test('#9: exec from a not-present page of a readable NX VMA maps it (1 minor fault), then faults 0x15', () => {
    const [m, ex] = run(['mmap y 1p r private', 'exec y']);
    assert.equal(ex.minflt, 1);
    assert.equal(ex.outcome, 'fault');
    assert.deepEqual({ code: ex.signal!.code, err: ex.signal!.err, addr: ex.signal!.addr, trapno: ex.signal!.trapno },
      { code: SEGV_ACCERR, err: PF_USER | PF_INSTR | PF_PROT, addr: m.addr!, trapno: X86_TRAP_PF });
    zeroPage(ex.page, 'the read-like fault mapped the zero page');
  });

  test('#8 #9: exec of a present NX page -> 0x15 with no fault counted; after mprotect(rx) a `ret` runs', () => {
    const [m, , nx, , rx] = run(['mmap x 1p rw private', 'write x 1 0xc3', 'exec x', 'mprotect x 1p rx', 'exec x']);
    segv(nx, pf(SEGV_ACCERR, PF_USER | PF_INSTR | PF_PROT, m.addr!));
    ok(rx, { minflt: 0 });
  });

  test('#35: mprotect errors: unaligned -> EINVAL; a hole -> ENOMEM, with the VMA before the hole changed', () => {
    const [m, , unal, hole, wr, after] = run(['mmap h 3p rw private', 'munmap h+0x1000 1p', 'mprotect h+1 1p r',
      'mprotect h 3p r', 'write h 1 1', 'write h+0x2000 1 1']);
    failed(unal, 'EINVAL');
    failed(hole, 'ENOMEM');
    segv(wr, pf(SEGV_ACCERR, PF_USER | PF_WRITE, m.addr!));
    ok(after, { minflt: 1 });
  });
});

describe('mmap and munmap', () => {
  test('#37: munmap errors: unaligned or len 0 -> EINVAL; an already unmapped range -> 0', () => {
    const [, un, again, unal, zero] = run(['mmap a 1p rw private', 'munmap a 1p', 'munmap a 1p', 'munmap a+1 1p',
      'munmap a 0']);
    for (const r of [un, again]) {
      ok(r, { minflt: 0 });
      assert.equal(r.ret, 0n);
    }
    failed(unal, 'EINVAL');
    failed(zero, 'EINVAL');
  });

  test('#38: mmap len 0 -> EINVAL; FIXED_NOREPLACE over a mapping -> EEXIST; MAP_FIXED replaces it', () => {
    const [z, m, , clash, fixed, rd] = run(['mmap z 0 rw private', 'mmap a 1p rw private', 'write a 1 1',
      'mmap b 1p rw private|noreplace a', 'mmap c 1p rw private|fixed a', 'read c 1']);
    failed(z, 'EINVAL');
    failed(clash, 'EEXIST');
    ok(fixed, { minflt: 0 });
    assert.equal(fixed.ret, m.addr);
    notMapped(fixed.page, 'the old page went with the old mapping');
    zeroPage(ok(rd, { minflt: 1 }), 'a fresh mapping');
    assert.equal(rd.value, 0n);
  });

  test('#39 #25: MAP_POPULATE: private writable -> real pages, read-only -> the zero page; GUP counts min_flt', () => {
    const [p, p2, q, q2] = run(['mmap p 3p rw private|populate', 'page p+0x2000', 'mmap q 2p r private|populate',
      'page q+0x1000']);
    const first = anonPage(ok(p, { minflt: 3 }), 'populated rw');
    assert.notEqual(anonPage(p2.page, 'third page'), first);
    zeroPage(ok(q, { minflt: 2 }), 'populated ro');
    zeroPage(q2.page, 'second ro page');
  });
});

describe('madvise and mlock', () => {
  test('#40: MADV_DONTNEED on private anon: the page goes; a read maps the zero page, a write gets a zeroed page', () => {
    const [, , dn, rd, wr, rd2] = run(['mmap d 1p rw private', 'write d 1 0x55', 'madvise d 1p dontneed', 'read d 1',
      'write d 1 2', 'read d+1 1']);
    notMapped(ok(dn, { minflt: 0 }), 'after DONTNEED');
    zeroPage(ok(rd, { minflt: 1 }), 'read after DONTNEED');
    assert.equal(rd.value, 0n);
    // A new frame, but maybe the one DONTNEED just freed: the per-CPU free lists are LIFO, so
    // its pfn_id is not compared with the old page's (README: "PFN identity").
    anonPage(ok(wr, { minflt: 1 }), 'write after DONTNEED');
    ok(rd2, { minflt: 0 });
    assert.equal(rd2.value, 0n, 'the new page is zeroed');
  });

  test('#46 #41 #25: mlock populates private writable pages (min_flt +2); DONTNEED on locked -> EINVAL', () => {
    const [, lk, p2, dn, ul, dn2] = run(['mmap l 2p rw private', 'mlock l 2p', 'page l+0x1000', 'madvise l 1p dontneed',
      'munlock l 2p', 'madvise l 1p dontneed']);
    const id = anonPage(ok(lk, { minflt: 2 }), 'locked page');
    anonPage(p2.page, 'second locked page');
    failed(dn, 'EINVAL');
    assert.equal(anonPage(dn.page, 'still there'), id);
    ok(ul, { minflt: 0 });
    notMapped(ok(dn2, { minflt: 0 }), 'after munlock, DONTNEED works');
  });

  test('#46: mlock onfault does not populate', () => {
    const [, lk, wr] = run(['mmap l 1p rw private', 'mlock l 1p onfault', 'write l 1 1']);
    notMapped(ok(lk, { minflt: 0 }), 'MLOCK_ONFAULT');
    anonPage(ok(wr, { minflt: 1 }), 'written');
  });
});

describe('brk and stacks', () => {
  test('#45: brk returns the new break; below start_brk it returns the current one; the heap is private anon', () => {
    const [grow, rd, low, shrink, gone] = run(['brk brk0+0x2000', 'read brk0 1', 'brk 0', 'brk brk0', 'read brk0+8 1']);
    ok(grow, { minflt: 0 });
    assert.equal(grow.ret, grow.addr);
    zeroPage(ok(rd, { minflt: 1 }), 'a heap read');
    ok(low);
    assert.equal(low.ret, grow.addr, 'brk(0) fails and returns the current break');
    ok(shrink);
    assert.equal(shrink.ret, rd.addr);
    segv(gone, pf(SEGV_MAPERR, PF_USER, rd.addr! + 8n));
  });

  test('#42: a fault below a GROWSDOWN VMA grows it to the faulting page in one step (even 1 MiB below)', () => {
    const [m, w1, r2] = run(['mmap g 1p rw private|growsdown', 'write g-0x1000 1 1', 'read g-0x100000 1']);
    anonPage(ok(w1, { minflt: 1 }), 'one page below');
    zeroPage(ok(r2, { minflt: 1 }), '1 MiB below');
    assert.equal(r2.addr, m.addr! - 0x100000n);
  });

  test('#43: an accessible mapping within stack_guard_gap (1 MiB) below the target blocks growth -> MAPERR', () => {
    //   g-0x200000   b (1 page, fixed)  ends at g-0x1ff000
    //   g-0x1f0000   write: 0xf000 above b's end < 1 MiB  -> expand_downwards -ENOMEM -> MAPERR
    //   g            the GROWSDOWN VMA (1 page)
    const [m, b, w] = run(['mmap g 1p rw private|growsdown', 'mmap b 1p rw private|fixed g-0x200000',
      'write g-0x1f0000 1 1']);
    ok(b, { minflt: 0 });
    segv(w, pf(SEGV_MAPERR, PF_USER | PF_WRITE, m.addr! - 0x1f0000n));
  });
});
