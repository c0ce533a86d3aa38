// The first process's stack and its growth (checklist 42-44; fs/exec.c setup_arg_pages, mm/mmap.c
// expand_downwards, acct_stack_growth, vm_start_gap). The conformance suite checks GROWSDOWN
// mappings against the host (stack-growsdown, stack-guard-gap-prot-none); these use the real
// stack VMA exec leaves and the scenario settings machine.rlimit.stack and stack_guard_gap.
//
//   0x7ffffffde000 ............ `stack` = 0x7fffffffe000 .. 0x7ffffffff000
//   [ 128 KiB below the initial rsp | argv/envp pages ]   VM_GROWSDOWN, VM_STACK_FLAGS

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Machine } from '../../../../src/hw/machine.js';
import { VM_ACCOUNT, VM_GROWSDOWN, VM_READ, VM_WRITE } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { LinuxSession } from '../../../../src/workload/linux.js';
import { parseScenario } from '../../../../src/workload/scenario/parse.js';
import type { StepResult } from '../../../../src/workload/result.js';
import { MemorySink } from '../../../../src/trace/events.js';
import type { LinuxVersion } from '../../../../src/kernel/linux/types.js';
import { decisions, VERSIONS } from '../pressure/session.js';

function boot(v: LinuxVersion, opts: { rlimitStack?: bigint; stackGuardGap?: number } = {}) {
  const m = new Machine();
  const s = new LinuxSession(m, v, { signals: 'handle', seed: 0, ...opts });
  const sink = new MemorySink();
  m.trace = sink;
  const steps = (yaml: string): StepResult[] => {
    const sc = parseScenario(`name: t\nsteps:\n${yaml}`, 't.yaml');
    return sc.steps.map((st) => s.run(st, { kernel: `linux-${v}`, step: st.index + 1, proc: st.proc, op: st.op }));
  };
  return { s, sink, steps };
}

const TOP = 0x7ffffffff000;

for (const v of VERSIONS) {
  test(`linux ${v}: the first process's stack VMA is as setup_arg_pages leaves it (VM_STACK_FLAGS, 128 KiB below the arg pages)`, () => {
    const b = boot(v);
    const mm = b.s.k.current.mm!;
    const vma = find_vma(b.s.k, mm, TOP - 1)!;
    assert.equal(vma.vm_end, TOP);
    assert.equal(vma.vm_start, TOP - 132 * 1024);
    assert.equal(vma.vm_flags & (VM_GROWSDOWN | VM_READ | VM_WRITE | VM_ACCOUNT), VM_GROWSDOWN | VM_READ | VM_WRITE | VM_ACCOUNT);
  });

  test(`linux ${v}: checklist 42: a fault 1 MiB below the stack grows it to the faulting page in one step (no %rsp check)`, () => {
    const b = boot(v);
    const [w] = b.steps(`  - write: {addr: stack-0x100000, value: 1}\n`);
    assert.deepEqual([w!.outcome, w!.minflt], ['ok', 1]);
    const vma = find_vma(b.s.k, b.s.k.current.mm!, TOP - 1)!;
    assert.equal(vma.vm_start, 0x7fffffffe000 - 0x100000);
    assert.ok(decisions(b.sink.events, 'expand_downwards').includes('grown'));
  });

  test(`linux ${v}: checklist 43: growth past RLIMIT_STACK (machine.rlimit.stack) fails with SEGV_MAPERR`, () => {
    const b = boot(v, { rlimitStack: 256n * 1024n });
    const r = b.steps(`  - write: {addr: stack-0x30000, value: 1}\n  - write: {addr: stack-0x40000, value: 1}\n`);
    assert.equal(r[0]!.outcome, 'ok', 'vm_end - address = 196 KiB + 8 KiB fits 256 KiB');
    assert.deepEqual([r[1]!.signal?.code, r[1]!.minflt], [1, 0]);
    assert.deepEqual(decisions(b.sink.events, 'expand_downwards').at(-1), 'rlimit-stack');
  });

  test(`linux ${v}: checklist 43/44: an accessible mapping within stack_guard_gap blocks growth; PROT_NONE does not; the gap is a boot setting`, () => {
    const b = boot(v);
    const r = b.steps(`  - mmap: {as: g, addr: 0x7ffffff00000, length: 4k, prot: r, flags: [private, anonymous, fixed]}
  - write: {addr: 0x7ffffff80000, value: 1}
  - mprotect: {addr: g, length: 4k, prot: none}
  - write: {addr: 0x7ffffff80000, value: 1}
`);
    assert.deepEqual([r[1]!.signal?.code, r[1]!.minflt], [1, 0], '0x7f000 above a readable mapping: inside the 1 MiB gap');
    assert.deepEqual(decisions(b.sink.events, 'expand_downwards')[0], 'guard-gap');
    assert.equal(r[3]!.outcome, 'ok', 'a PROT_NONE neighbour does not count');
    const small = boot(v, { stackGuardGap: 16 });
    const s = small.steps(`  - mmap: {as: g, addr: 0x7ffffff00000, length: 4k, prot: r, flags: [private, anonymous, fixed]}\n  - write: {addr: 0x7ffffff80000, value: 1}\n`);
    assert.equal(s[1]!.outcome, 'ok', 'stack_guard_gap=16 pages');
  });

  test(`linux ${v}: checklist 44: a non-fixed mmap whose hint lies in the guard gap is placed elsewhere (vm_start_gap)`, () => {
    const b = boot(v);
    const [m] = b.steps(`  - mmap: {as: h, addr: 0x7fffffee0000, length: 4k, prot: rw, flags: [private, anonymous]}\n`);
    assert.notEqual(m!.ret, '0x7fffffee0000');
    const [f] = b.steps(`  - mmap: {as: h2, addr: 0x7ffffe000000, length: 4k, prot: rw, flags: [private, anonymous]}\n`);
    assert.equal(f!.ret, '0x7ffffe000000', 'a hint outside the gap is taken');
  });

  test(`linux ${v}: checklist 44/45: brk keeps stack_guard_gap below a GROWSDOWN mapping above the heap`, () => {
    const b = boot(v);
    const r = b.steps(`  - mmap: {as: g, addr: 0x605000, length: 4k, prot: rw, flags: [private, anonymous, fixed, growsdown]}
  - brk: {addr: 0x505000}
  - brk: {addr: 0x405000+0x80000}
`);
    assert.equal(r[1]!.ret, '0x405000', 'brk0 + 1 MiB reaches into the 1 MiB gap below g: the old break comes back');
    assert.equal(r[2]!.ret, '0x485000', 'brk0 + 512 KiB stays below the gap (vm_start_gap = 0x505000): the new break');
  });
}
