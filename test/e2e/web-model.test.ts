// The visualizer's model layer, without a browser: source links, the step controls' moves over a
// trace, what the views derive from events, the saved-frame layouts, and deterministic replay
// (the machine rebuilt at an event matches what the trace says happened there).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TraceEvent } from '../../src/trace/events.js';
import { depths, derive, move } from '../../web/src/model/derive.js';
import { explain } from '../../web/src/model/explain.js';
import { LINUX_PT_REGS, XNU_SAVED_STATE64 } from '../../web/src/model/frames.js';
import { readKernel } from '../../web/src/model/kernel-state.js';
import { readMachine } from '../../web/src/model/machine-state.js';
import { availableKernels, fullRun, parse, replay, scenarioKernels, type Run } from '../../web/src/model/run.js';
import { sourceRef } from '../../web/src/model/source.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function load(file: string, kernel?: string): Run {
  const p = parse(readFileSync(join(ROOT, file), 'utf8'), file);
  assert.ok(p.ok, `${file} parses`);
  const ks = scenarioKernels(p.scenario, kernel ? [kernel] : undefined);
  assert.ok(ks.ok);
  const r = fullRun(p.scenario, ks.kernels[0]!);
  assert.ok(r.ok);
  return r.run;
}

test('source links: Linux at its version on elixir, XNU at its tag, none for the bare lab', () => {
  const l = sourceRef('arch/x86/mm/fault.c:exc_page_fault (6.18)', 'exc_page_fault', 'linux-6.18');
  assert.equal(l?.url, 'https://elixir.bootlin.com/linux/v6.18/source/arch/x86/mm/fault.c');
  assert.equal(l?.identUrl, 'https://elixir.bootlin.com/linux/v6.18/A/ident/exc_page_fault');
  assert.equal(sourceRef('mm/memory.c:5230:handle_pte_fault', 'handle_pte_fault', 'linux-5.19')?.url, 'https://elixir.bootlin.com/linux/v5.19/source/mm/memory.c#L5230');
  assert.equal(sourceRef('osfmk/vm/vm_fault.c:vm_fault_internal (xnu-11417)', 'vm_fault_internal', 'xnu-11417')?.url,
    'https://github.com/apple-oss-distributions/xnu/blob/xnu-11417.121.6/osfmk/vm/vm_fault.c');
  assert.equal(sourceRef('osfmk/x86_64/idt64.s:L_dispatch (xnu-11417)', 'L_dispatch', 'xnu-11417')?.file, 'osfmk/x86_64/idt64.s');
  assert.equal(sourceRef('faultline bare lab: no OS; skips the faulting access', 'bare_handler', 'bare'), null);
});

//  0 step  1 enter a  2 enter b  3 decision  4 leave b  5 enter c  6 leave c  7 leave a  8 step_end
//  9 step  10 exception  11 enter d  12 leave d  13 step_end
const T: TraceEvent[] = [
  { ev: 'step', step: 1, op: 'write', proc: 'main', kernel: 'k' },
  { ev: 'enter', fn: 'a', src: 'x.c:a (1)' },
  { ev: 'enter', fn: 'b', src: 'x.c:b (1)' },
  { ev: 'decision', fn: 'b', reason: 'why' },
  { ev: 'leave', fn: 'b' },
  { ev: 'enter', fn: 'c', src: 'x.c:c (1)' },
  { ev: 'leave', fn: 'c' },
  { ev: 'leave', fn: 'a' },
  { ev: 'step_end', step: 1, outcome: 'ok' },
  { ev: 'step', step: 2, op: 'write', proc: 'main', kernel: 'k' },
  { ev: 'exception', vector: 14, name: '#PF', errorCode: 6, cr2: '0x1000', reason: 'not-present' },
  { ev: 'enter', fn: 'd', src: 'x.c:d (1)' },
  { ev: 'leave', fn: 'd' },
  { ev: 'step_end', step: 2, outcome: 'ok' },
];

test('step controls: into, over, out, next fault, next/previous step, back, start, end', () => {
  const dep = depths(T);
  const go = (from: number, how: Parameters<typeof move>[3]) => move(T, dep, from, how);
  assert.equal(go(0, 'into'), 1);
  assert.equal(go(1, 'into'), 2);
  assert.equal(go(1, 'over'), 7, 'over at a\'s entry skips the whole call');
  assert.equal(go(2, 'over'), 4, 'over at b\'s entry: to its return');
  assert.equal(go(3, 'over'), 4, 'over inside b: the next event at b\'s depth');
  assert.equal(go(4, 'over'), 5, 'over after b returned: the call to c, not inside it');
  assert.equal(go(5, 'over'), 6);
  assert.equal(go(2, 'out'), 4, 'out of b');
  assert.equal(go(3, 'out'), 4);
  assert.equal(go(5, 'out'), 6);
  assert.equal(go(1, 'out'), 7, 'out of a');
  assert.equal(go(0, 'out'), 8, 'outside any function: to the end of the step');
  assert.equal(go(-1, 'fault'), 10);
  assert.equal(go(10, 'fault'), 13, 'no later fault: the end');
  assert.equal(go(3, 'nextStep'), 9);
  assert.equal(go(12, 'prevStep'), 9);
  assert.equal(go(9, 'prevStep'), 0);
  assert.equal(go(0, 'back'), -1);
  assert.equal(go(-1, 'back'), -1);
  assert.equal(go(5, 'start'), -1);
  assert.equal(go(5, 'end'), 13);
  assert.equal(go(13, 'next'), 13);
});

test('derive: the call stack with its decisions, and a new step clears it', () => {
  const at3 = derive(T, 3);
  assert.deepEqual(at3.stack.map((f) => f.fn), ['a', 'b']);
  assert.deepEqual(at3.stack[1]!.decisions.map((x) => x.reason), ['why']);
  assert.deepEqual(derive(T, 5).stack.map((f) => f.fn), ['a', 'c']);
  assert.deepEqual(derive(T, 7).stack, []);
  const at11 = derive(T, 11);
  assert.equal(at11.step?.n, 2);
  assert.deepEqual(at11.stack.map((f) => f.fn), ['d']);
  assert.equal(at11.exception?.cr2, '0x1000');
  assert.equal(at11.counters['kernel calls'], 4);
});

test('derive on the bare seed: the faulting walk, the gate, the CPU-pushed frame, the PTE map wrote', () => {
  const r = load('scenarios/bare-user-write.yaml');
  const deliver = r.events.findIndex((e) => e.ev === 'deliver');
  const d = derive(r.events, deliver);
  assert.equal(d.step?.n, 4);
  assert.deepEqual(d.walk.map((w) => `${w.level}[${w.index}]=${w.entry}`), ['pml4[254]=0x112027', 'pdpt[0]=0x113027', 'pd[0]=0x114027', 'pt[1]=0x0']);
  assert.deepEqual(d.walkFault, { level: 'pt', reason: 'not-present', errorCode: 6 });
  assert.equal(d.gate?.vector, 14);
  assert.deepEqual(d.pushed.map((p) => `${p.what}=${p.value}`), ['SS=0x2b', 'RSP=0x7ffffffde000', 'RFLAGS=0x202', 'CS=0x33', 'RIP=0x401000', 'error code=0x6']);
  assert.ok(d.pushed.every((p) => p.at < d.deliverAt));
  assert.equal(d.lastPte?.entryPa, '0x114000');
  assert.equal(d.counters['exceptions (#PF)'], 1);
});

test('explain: one sentence per event of the bare seed, the fault decoded', () => {
  const r = load('scenarios/bare-user-write.yaml');
  const at = (ev: string) => r.events.find((e) => e.ev === ev);
  assert.equal(explain(at('exception'), 'bare'), 'Page fault (#PF, vector 14). CR2 holds the faulting address 0x7f0000001000; the error code 0x6 says: not-present page, write access, user-mode access.');
  assert.match(explain(at('stack_switch'), 'bare'), /TSS\.RSP0 \(0xffffc90000004000\)/);
  assert.match(explain(at('deliver'), 'bare'), /handler at 0xffffffff810000e0 at CPL 0.*interrupts are off/);
  assert.match(explain(undefined, 'bare'), /booted/);
  for (const e of r.events) assert.notEqual(explain(e, 'bare'), '', `a sentence for ${e.ev}`);
});

test('saved-frame layouts: pt_regs is 168 bytes with ss last; x86_saved_state64 is 208 with isf.ss last', () => {
  const last = (l: typeof LINUX_PT_REGS) => l.fields[l.fields.length - 1]!;
  assert.deepEqual([last(LINUX_PT_REGS).name, last(LINUX_PT_REGS).off + 8, LINUX_PT_REGS.ssOffset], ['ss', 168, 160]);
  assert.equal(LINUX_PT_REGS.fields.find((f) => f.name.startsWith('orig_ax'))?.off, 120);
  assert.deepEqual([last(XNU_SAVED_STATE64).name, last(XNU_SAVED_STATE64).off + 8, XNU_SAVED_STATE64.ssOffset], ['isf.ss', 208, 200]);
  assert.equal(XNU_SAVED_STATE64.fields.find((f) => f.name === 'cr2')?.off, 48);
  assert.equal(XNU_SAVED_STATE64.fields.find((f) => f.name === 'isf.err')?.off, 160);
});

test('replay: every seed scenario on every kernel it names, rebuilt at each exception, matches the trace', () => {
  const seeds = readdirSync(join(ROOT, 'scenarios')).filter((f) => /seed|bare-user-write/.test(f));
  const kernels = availableKernels();
  let checked = 0;
  for (const f of seeds) {
    const p = parse(readFileSync(join(ROOT, 'scenarios', f), 'utf8'), f);
    assert.ok(p.ok);
    for (const k of (p.scenario.kernel ?? ['bare']).filter((x) => kernels.includes(x))) {
      const r = load(`scenarios/${f}`, k);
      const end = replay(r, r.events.length - 1);
      assert.equal(end.reached, r.events.length - 1, `${f} on ${k}: the replay reaches the last event`);
      r.events.forEach((e, i) => {
        if (e.ev !== 'exception' || e.cr2 === undefined) return;
        const m = readMachine(replay(r, i).session.machine);
        assert.equal(m.regs.cr2, e.cr2, `${f} on ${k}: CR2 at event ${i}`);
        checked++;
      });
      const before = readMachine(replay(r, -1).session.machine);
      assert.ok(before.idt && before.idt.gates.length === 256, `${f} on ${k}: the booted IDT`);
      if (k !== 'bare') {
        const kv = readKernel(k, end.state);
        assert.ok(kv.vmaSource !== null && kv.vmas.length > 0, `${f} on ${k}: VMAs / vm_map entries from the kernel objects`);
      }
    }
  }
  assert.ok(checked >= 1);
});
