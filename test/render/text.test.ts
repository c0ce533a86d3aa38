// The text renderer: ftrace function_graph layout, exact lines (they are stored as goldens).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderText, TEXT_HEADER } from '../../src/render/text.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { cpuDemandFault, demandFault, oneOfEach, segfault } from './fixture.test.js';

test('fixtures: every enter has its leave, in nesting order', () => {
  for (const trace of [demandFault, segfault]) {
    const stack: string[] = [];
    for (const e of trace) {
      if (e.ev === 'enter') stack.push(e.fn);
      if (e.ev === 'leave') assert.equal(stack.pop(), e.fn);
    }
    assert.deepEqual(stack, []);
  }
});

test('fixtures: the demand fault pushes the six-word frame the SDM describes (§6.14.2)', () => {
  const pushed = cpuDemandFault.flatMap((e) => (e.ev === 'push' ? [e.what] : []));
  assert.deepEqual(pushed, ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP', 'error code']);
});

const lines = (events: TraceEvent[]): string[] => renderText(events).split('\n').slice(TEXT_HEADER.length, -1);

test('header is ftrace-like and the text ends with a newline', () => {
  const text = renderText([]);
  assert.equal(text, '# CPU  SEQ    FUNCTION CALLS\n# |      |    |   |   |\n');
});

test('the CPU side of a demand fault: one comment line per hardware event', () => {
  assert.deepEqual(lines(cpuDemandFault), [
    ' 0)      0 |  # step 1 (line 3): write 0x7f0000000000 on a.out [linux]',
    ' 0)      1 |  /* access user write va=0x7f0000000000 size=8 cpl=3 */',
    ' 0)      2 |  /* tlb miss va=0x7f0000000000 pcid=0 */',
    ' 0)      3 |  /* walk PML4[0x0fe] @0x17f0 = 0x2067 P RW US A */',
    ' 0)      4 |  /* walk PDPT[0x000] @0x2000 = 0x3067 P RW US A */',
    ' 0)      5 |  /* walk PD[0x000] @0x3000 = 0x4067 P RW US A */',
    ' 0)      6 |  /* walk PT[0x000] @0x4000 = 0x0 */',
    ' 0)      7 |  /* walk fault at PT: not-present error_code=0x6 */',
    ' 0)      8 |  /* #PF error_code=0x6 cr2=0x7f0000000000: not-present page, write, user */',
    ' 0)      9 |  /* gate 14 @0xfffffe00000000e0: offset=0xffffffff81a00aa0 sel=0x10 ist=0 interrupt DPL0 */',
    ' 0)     10 |  /* stack switch 0x7ffe0000f000 -> 0xfffffe0000003000 (privilege, RSP0) */',
    ' 0)     11 |  /* push SS = 0x2b @0xfffffe0000002ff8 */',
    ' 0)     12 |  /* push RSP = 0x7ffe0000f000 @0xfffffe0000002ff0 */',
    ' 0)     13 |  /* push RFLAGS = 0x246 @0xfffffe0000002fe8 */',
    ' 0)     14 |  /* push CS = 0x33 @0xfffffe0000002fe0 */',
    ' 0)     15 |  /* push RIP = 0x401126 @0xfffffe0000002fd8 */',
    ' 0)     16 |  /* push error code = 0x6 @0xfffffe0000002fd0 */',
    ' 0)     17 |  /* deliver vector 14 -> rip=0xffffffff81a00aa0 cs=0x10 rsp=0xfffffe0000002fd0 cpl=0 IF=0 */',
  ]);
});

test('the kernel side nests by enter/leave, collapses leaf calls, and cites the source', () => {
  // Sequence numbers continue from the CPU part (18 events), so they match the full trace.
  assert.deepEqual(lines(demandFault).slice(cpuDemandFault.length), [
    ' 0)     18 |  exc_page_fault(error_code=0x6) { /* arch/x86/mm/fault.c:exc_page_fault (6.18) */',
    ' 0)     19 |    handle_page_fault() { /* arch/x86/mm/fault.c:handle_page_fault (6.18) */',
    ' 0)     20 |      do_user_addr_fault(address=0x7f0000000000) { /* arch/x86/mm/fault.c:do_user_addr_fault (6.18) */',
    ' 0)     21 |        lock_mm_and_find_vma(); /* mm/mmap.c:lock_mm_and_find_vma (6.18) */ /* = vma [0x7f0000000000, 0x7f0000010000) */',
    // 22 is the leave folded into the leaf line above.
    ' 0)     23 |        /* access-permitted (VM_WRITE) */',
    ' 0)     24 |        handle_mm_fault() { /* mm/memory.c:handle_mm_fault (6.18) */',
    ' 0)     25 |          handle_pte_fault() { /* mm/memory.c:handle_pte_fault (6.18) */',
    ' 0)     26 |            /* pte-none-anonymous */',
    ' 0)     27 |            do_anonymous_page() { /* mm/memory.c:do_anonymous_page (6.18) */',
    ' 0)     28 |              /* alloc frame pfn=0x1234 (anonymous page) */',
    ' 0)     29 |              /* write PT entry @0x4000: 0x0 -> 0x8000000001234867 P RW US A D NX va=0x7f0000000000 */',
    ' 0)     30 |            } /* do_anonymous_page = 0 */',
    ' 0)     31 |          }',
    ' 0)     32 |        } /* handle_mm_fault = 0 */',
    ' 0)     33 |      }',
    ' 0)     34 |    }',
    ' 0)     35 |  }',
    ' 0)     36 |  /* iretq -> rip=0x401126 cs=0x33 rflags=0x246 rsp=0x7ffe0000f000 ss=0x2b cpl=3 */',
    ' 0)     37 |  # step 1 done: ok',
  ]);
});

test('a segfault: printk line verbatim at its depth, then the signal', () => {
  assert.deepEqual(lines(segfault), [
    ' 0)      0 |  # step 2: read 0x0 on a.out [linux]',
    ' 0)      1 |  /* #PF error_code=0x4 cr2=0x0: not-present page, read, user */',
    ' 0)      2 |  do_user_addr_fault() { /* arch/x86/mm/fault.c:do_user_addr_fault (6.18) */',
    ' 0)      3 |    lock_mm_and_find_vma(); /* mm/mmap.c:lock_mm_and_find_vma (6.18) */ /* = NULL */',
    ' 0)      5 |    /* no-vma */',
    ' 0)      6 |    bad_area_nosemaphore() { /* arch/x86/mm/fault.c:bad_area_nosemaphore (6.18) */',
    ' 0)      7 |      a.out[1234]: segfault at 0 ip 0000000000401126 sp 00007ffe0000f000 error 4 in a.out[401000+1000]',
    ' 0)      8 |      /* signal SIGSEGV (11) code=SEGV_MAPERR(1) addr=0x0 to pid 1234 trapno=14 err=0x4 */',
    ' 0)      9 |    }',
    ' 0)     10 |  }',
    ' 0)     11 |  # step 2 done: SIGSEGV',
  ]);
});

test('a decision by a function other than the innermost one names that function', () => {
  const out = lines([
    { ev: 'enter', fn: 'vm_fault_internal', src: 'osfmk/vm/vm_fault.c:vm_fault_internal (xnu-11215)' },
    { ev: 'decision', fn: 'vm_map_lookup_and_lock_object', reason: 'entry-found' },
    { ev: 'decision', fn: 'vm_fault_internal', reason: 'resolved' },
    { ev: 'leave', fn: 'vm_fault_internal', ret: 'KERN_SUCCESS' },
  ]);
  assert.deepEqual(out, [
    ' 0)      0 |  vm_fault_internal() { /* osfmk/vm/vm_fault.c:vm_fault_internal (xnu-11215) */',
    ' 0)      1 |    /* vm_map_lookup_and_lock_object: entry-found */',
    ' 0)      2 |    /* resolved */',
    ' 0)      3 |  } /* vm_fault_internal = KERN_SUCCESS */',
  ]);
});

test('a leave whose enter is missing names itself and does not unindent', () => {
  const out = lines([
    { ev: 'enter', fn: 'a', src: 'x.c:a (1)' },
    { ev: 'decision', fn: 'a', reason: 'r' },
    { ev: 'leave', fn: 'b' },
    { ev: 'leave', fn: 'a' },
    { ev: 'leave', fn: 'c' },
  ]);
  assert.deepEqual(out, [
    ' 0)      0 |  a() { /* x.c:a (1) */',
    ' 0)      1 |    /* r */',
    ' 0)      2 |    } /* b */',
    ' 0)      3 |  }',
    ' 0)      4 |  } /* c */',
  ]);
});

test('leaving an outer function closes the calls still open inside it', () => {
  const out = lines([
    { ev: 'enter', fn: 'outer', src: 'x.c:outer (1)' },
    { ev: 'enter', fn: 'inner', src: 'x.c:inner (1)' },
    { ev: 'log', text: 'longjmp-like exit' },
    { ev: 'leave', fn: 'outer', ret: '-14' },
    { ev: 'log', text: 'after' },
  ]);
  assert.deepEqual(out, [
    ' 0)      0 |  outer() { /* x.c:outer (1) */',
    ' 0)      1 |    inner() { /* x.c:inner (1) */',
    ' 0)      2 |      longjmp-like exit',
    ' 0)      3 |  } /* outer = -14 */',
    ' 0)      4 |  after',
  ]);
});

test('a multi-line log keeps the columns on every line', () => {
  const out = lines([{ ev: 'log', text: 'BUG: unable to handle page fault for address: 0000000000000000\n#PF: supervisor read access in kernel mode' }]);
  assert.deepEqual(out, [
    ' 0)      0 |  BUG: unable to handle page fault for address: 0000000000000000',
    ' 0)      0 |  #PF: supervisor read access in kernel mode',
  ]);
});

test('every event type renders one complete line', () => {
  const events = Object.values(oneOfEach).filter((e) => e.ev !== 'enter' && e.ev !== 'leave' && e.ev !== 'pt_regs');
  const out = lines(events);
  assert.equal(out.length, events.length);
  for (const line of out) {
    assert.match(line, /^ 0\) [ \d]{6} \| {2}\S/);
    assert.doesNotMatch(line, /undefined|\[object|NaN/);
  }
  // An implicit supervisor access made at CPL 3 (SDM §4.6: descriptor-table reads) says what it reads.
  assert.equal(out[2], ' 0)      2 |  /* access supervisor read va=0xfffffe00000000e0 size=8 cpl=3 implicit (IDT gate) */');
  assert.equal(out[5], ' 0)      5 |  /* tlb flush invlpg va=0x1000 pcid=1 entries=1 */');
  assert.equal(out[6], ' 0)      6 |  /* walk PD[0x1ff] @0x3ff8 = 0x2000e7 P RW A D PS (leaf) */');
  assert.equal(out[14], ' 0)     14 |  /* stack switch 0xffffc90000003f00 -> 0xfffffe0000009000 (ist, IST2) */');
});

test('colour wraps only the text column, so stripping it gives the plain listing', () => {
  const trace = [...demandFault, ...segfault];
  const colored = renderText(trace, { color: true });
  assert.notEqual(colored, renderText(trace));
  // eslint-disable-next-line no-control-regex
  assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ''), renderText(trace));
});

test('a pt_regs frame renders as a block with each field at its offset (asm/ptrace.h)', () => {
  const out = lines([oneOfEach.pt_regs]);
  assert.deepEqual(out, [
    ' 0)      0 |  /* struct pt_regs @0xffffc90000003f58 (sync_regs):',
    ' 0)      0 |       +  0 r15     0x0                +  8 orig_ax 0x6                + 16 ip      0x401000',
    ' 0)      0 |       + 24 cs      0x33',
    ' 0)      0 |  */',
  ]);
});
