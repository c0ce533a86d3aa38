// Memory pressure on xnu-11417: the pageout daemon, the compressor and memorystatus (xnu.md §10
// checklist 35, 36, 38 in part, 39; §9 rows 15 and 16). Most tests wire nearly all of a 5 MiB
// machine first, so a few writes cross vm_page_free_min.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisions, session, stepEvents } from './helpers.js';
import { madvise } from '../../../src/kernel/xnu/bsd/kern/kern_mman.js';
import { switch_to_task } from '../../../src/kernel/xnu/osfmk/i386/pcb_native.js';
import { wkdm_size_estimate } from '../../../src/kernel/xnu/osfmk/vm/vm_compressor.js';
import { parseExpr } from '../../../src/workload/scenario/expr.js';
import { vm_map_lookup_entry } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';

const RAM = { ram: 5 * 1024 * 1024 };
const WIRE = ['- mmap: {as: wired, length: 940k, prot: rw, flags: [private, anonymous]}', '- mlock: {addr: wired, length: 940k}', '- mmap: {as: buf, length: 64k, prot: rw, flags: [private, anonymous]}'];
const writes = (n: number): string[] => Array.from({ length: n }, (_, i) => `- write: {addr: buf+${i * 4096}, value: ${i + 1}}`);

test('pageout: below vm_page_free_min the daemon ages active pages and compresses the oldest dirty anonymous ones', () => {
  const { s, events } = session([...WIRE, ...writes(10)], RAM);
  const k = s.k;
  assert.ok(decisions(events, 'vm_page_grab').includes('wake-pageout-daemon'));
  assert.ok(k.stats.compressions >= 4, `compressions ${k.stats.compressions}`);
  assert.ok(decisions(events, 'vm_pageout_scan').includes('anon-compress'));
  const pool = k.compressor!;
  assert.equal(pool.c_segment_count, 1);
  assert.equal(pool.c_segment_pages_compressed, k.stats.compressions);
  assert.ok(k.pages.vm_page_compressor_count >= 1, 'the c_segment populated a frame');
  assert.ok(k.pages.vm_page_free_count >= k.pages.vm_page_free_min);
});

test('checklist 35: a fault on a compressed page decompresses: DBG_COMPRESSOR_FAULT, decompressions++, page dirty, data back', () => {
  const { s, results, events } = session([...WIRE, ...writes(10), '- read: {addr: buf}'], RAM);
  const last = results[results.length - 1]!;
  assert.equal(last.value, '0x1');
  assert.ok(decisions(stepEvents(events, results.length), 'vm_fault_internal').includes('decompress'));
  assert.equal(s.k.lastFaultType, 9, 'DBG_COMPRESSOR_FAULT');
  assert.ok(s.k.stats.decompressions >= 1);
  assert.equal(s.k.tasks[0]!.decompressions, s.k.stats.decompressions);
  const buf = s.k.tasks[0]!.map.hint.object!;
  assert.equal(buf.memq.get(0)?.dirty, true);
});

test('checklist 36 / §9 row 15: a corrupt compressed page gives KERN_MEMORY_FAILURE (9): EXC_BAD_ACCESS code 9, SIGBUS', () => {
  const { s, results } = session([...WIRE, ...writes(10)], RAM);
  const k = s.k;
  const buf = Number(results[2]!.ret!);
  const e = vm_map_lookup_entry(k.tasks[0]!.map, buf).entry;
  const pager = e.object!.pager;
  assert.equal(pager?.kind, 'compressor');
  const slot = pager.kind === 'compressor' ? pager.slots.get(0) : undefined;
  assert.ok(slot, 'page 0 of buf is compressed');
  k.corruptSlots.add(slot);
  const r = s.run({ op: 'read', args: { addr: parseExpr(`0x${buf.toString(16)}`), size: 1 }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 99, proc: 'main', op: 'read' });
  assert.equal(r.signal?.name, 'SIGBUS');
  assert.equal(r.mach_exception?.code, 9);
});

test('checklist 39 + memorystatus: nothing to free kills the largest process with its log line; the waiting fault retries and succeeds', () => {
  const { s, results, events } = session([
    '- fork: {as: child}', '- mmap: {as: big, length: 880k, prot: rw, flags: [private, anonymous]}', '- mlock: {addr: big, length: 880k}',
    '- mmap: {as: more, length: 160k, prot: rw, flags: [private, anonymous]}\n    proc: child', '- mlock: {addr: more, length: 160k}\n    proc: child',
  ], RAM);
  assert.equal(results[4]!.outcome, 'ok');
  assert.deepEqual(results[4]!.log, ['0.000 memorystatus: killing_top_process pid 100 [main] (vm-pageshortage 180) 880KB - memorystatus_available_pages: 4']);
  assert.equal(s.k.tasks[0]!.proc.exited, true);
  assert.equal(s.k.tasks[0]!.proc.p_xsig, 9);
  assert.ok(decisions(events, 'vm_page_wait').includes('jetsam-freed'));
  assert.ok(decisions(events, 'vm_fault_internal').includes('memory-shortage-retry'), 'MEMORY_SHORTAGE -> vm_page_wait -> RetryFault');
});

test('§9 row 16 (madvise_zero): FREE_REUSABLE, write, MADV_ZERO, PAGEOUT (ENOTSUP on RELEASE), MADV_ZERO: zeros each time', () => {
  const { s, results } = session(['- mmap: {as: m, length: 12k, prot: rw, flags: [private, anonymous]}', '- write: {addr: m, value: 7}', '- write: {addr: m+0x2000, value: 7}']);
  const k = s.k;
  const t = k.tasks[0]!;
  switch_to_task(k, t);
  const base = BigInt(results[0]!.ret!);
  assert.equal(madvise(k, t, base, 0x3000n, 'free_reusable').error, 0);
  const o = t.map.hint.object!;
  assert.equal(o.memq.get(0)!.reusable, true);
  const read = (n: number) => s.run({ op: 'read', args: { addr: parseExpr(`0x${(base + BigInt(n)).toString(16)}`), size: 1 }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 10 + n, proc: 'main', op: 'read' });
  s.run({ op: 'write', args: { addr: parseExpr(`0x${base.toString(16)}`), size: 1, value: 9n }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 9, proc: 'main', op: 'write' });
  switch_to_task(k, t);
  assert.equal(madvise(k, t, base, 0x3000n, 'zero').error, 0);
  assert.equal(read(0).value, '0x0');
  assert.equal(read(0x2000).value, '0x0');
  switch_to_task(k, t);
  assert.equal(madvise(k, t, base, 0x3000n, 'pageout').error, 'ENOTSUP');
  assert.equal(madvise(k, t, base, 0x3000n, 'zero').error, 0);
  assert.equal(read(0x1000).value, '0x0');
});

test('MADV_FREE_REUSABLE pages are discarded by the daemon without compression', () => {
  const { s, results } = session([...WIRE, ...writes(3)], RAM);
  const k = s.k;
  const t = k.tasks[0]!;
  switch_to_task(k, t);
  const buf = BigInt(results[2]!.ret!);
  assert.equal(madvise(k, t, buf, 0x3000n, 'free_reusable').error, 0);
  const c0 = k.stats.compressions;
  for (let i = 3; i < 12; i++) s.run({ op: 'write', args: { addr: parseExpr(`0x${(buf + BigInt(i * 4096)).toString(16)}`), size: 1, value: 1n }, proc: 'main' } as never, { kernel: 'xnu-11417', step: 20 + i, proc: 'main', op: 'write' });
  assert.ok(k.stats.reclaimed >= 3, `reclaimed ${k.stats.reclaimed}`);
  assert.ok(k.stats.compressions - c0 < 9);
});

test('the WKdm size estimate: a zero page is tiny, a random page near 4 KiB', () => {
  assert.ok(wkdm_size_estimate(new Uint32Array(1024)) < 300);
  const r = new Uint32Array(1024);
  let x = 1;
  for (let i = 0; i < 1024; i++) r[i] = x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  assert.ok(wkdm_size_estimate(r) > 4000);
});

test('checklist 38 (purgeable): a VOLATILE object is emptied first under pressure; a fault in it is KERN_MEMORY_ERROR until NONVOLATILE', () => {
  const { s, results, events } = session([
    '- mmap: {as: wired, length: 940k, prot: rw, flags: [private, anonymous]}', '- mlock: {addr: wired, length: 940k}',
    '- mach_vm_allocate: {as: cache, size: 16k, flags: [anywhere, purgable]}', '- write: {addr: cache, value: 9}',
    '- vm_purgable_control: {addr: cache}', '- vm_purgable_control: {addr: cache, state: volatile}',
    '- mmap: {as: buf, length: 64k, prot: rw, flags: [private, anonymous]}', ...writes(6),
    '- read: {addr: cache}', '- vm_purgable_control: {addr: cache, state: nonvolatile}', '- read: {addr: cache}',
  ], RAM);
  const n = results.length;
  assert.equal(results[4]!.ret, '0x0', 'GET_STATE: NONVOLATILE');
  assert.ok(s.k.stats.purged >= 1);
  const scan = decisions(events, 'vm_pageout_scan');
  const compressAt = scan.indexOf('anon-compress');
  assert.ok(scan.indexOf('purge-volatile-object') >= 0 && (compressAt < 0 || scan.indexOf('purge-volatile-object') < compressAt), 'volatile memory goes before anything is compressed');
  assert.equal(results[n - 3]!.signal?.name, 'SIGBUS');
  assert.equal(results[n - 3]!.mach_exception?.code, 10);
  assert.ok(decisions(stepEvents(events, n - 2), 'vm_fault_internal').includes('object-purged-empty'));
  assert.equal(results[n - 2]!.ret, '0x2', 'the old state: VM_PURGABLE_EMPTY');
  assert.equal(results[n - 1]!.value, '0x0');
  const notPurgeable = session(['- mmap: {as: m, length: 4k, prot: rw, flags: [private, anonymous]}', '- write: {addr: m, value: 1}', '- vm_purgable_control: {addr: m, state: volatile}']);
  assert.equal(notPurgeable.results[2]!.errno, 'KERN_INVALID_ARGUMENT');
});
