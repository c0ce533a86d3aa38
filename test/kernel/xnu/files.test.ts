// The vnode pager and file mappings on xnu-11417 (xnu.md §10 checklist 37, §9 rows 12 and 13).
// Address space: `f` is a file of 'a' bytes; `priv` maps it MAP_PRIVATE (entry -> copy object C
// -> file object F, needs_copy), `shr` maps it MAP_SHARED (entry -> F).
//
//   priv: [C needs_copy] --shadow--> [F: vnode pager]  <-- shr
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisions, session, stepEvents } from './helpers.js';
import { DBG_COW_FAULT, DBG_PAGEINV_FAULT } from '../../../src/kernel/xnu/osfmk/vm/vm_fault.js';

const FILE = '- file: {as: f, size: 10000, content: a}';
const PRIV = '- mmap: {as: priv, length: 16k, prot: rw, flags: [private], file: f}';
const SHR = '- mmap: {as: shr, length: 16k, prot: rw, flags: [shared], file: f}';

test('checklist 37: one data_request per page, DBG_PAGEINV_FAULT, task pageins++; a cached page is a soft fault', () => {
  const { s, results, events } = session([FILE, PRIV, SHR, '- read: {addr: priv}', '- read: {addr: priv+0x1000}', '- read: {addr: shr}']);
  const t = s.k.tasks[0]!;
  assert.equal(t.pageins, 2, 'two pages paged in');
  assert.equal(s.k.io.reads, 2);
  assert.deepEqual([results[3]!.majflt, results[4]!.majflt, results[5]!.majflt], [1, 1, 0]);
  assert.equal(decisions(stepEvents(events, 4), 'vm_fault_page').filter((d) => d === 'data-request').length, 1);
  assert.equal(decisions(stepEvents(events, 6), 'vnode_pagein').length, 0, 'the second mapping finds the page in the file object');
  const f = s.k.vnodes.get('f')!.object!;
  assert.equal(f.internal, false);
  assert.equal(f.resident_page_count, 2);
  assert.equal(s.k.lastFaultType, 4, 'the shared read of a cached page: CACHE_HIT');
  const again = session([FILE, PRIV, '- read: {addr: priv}']);
  assert.equal(again.s.k.lastFaultType, DBG_PAGEINV_FAULT);
});

test('file COW: a private write copies the file page into the shadow (DBG_COW_FAULT); the file is untouched', () => {
  const { s, results, events } = session([FILE, PRIV, '- write: {addr: priv, value: z}', '- pread: {file: f, offset: 0}', '- read: {addr: priv}']);
  assert.ok(decisions(stepEvents(events, 3), 'vm_fault_page').includes('cow-copy-into-top'));
  assert.ok(stepEvents(events, 3).some((e) => e.ev === 'decision' && e.fn === 'vm_fault_internal' && e.detail === `type_of_fault = DBG_COW_FAULT`));
  assert.equal(DBG_COW_FAULT, 3);
  assert.equal(results[3]!.value, '0x61', "the file still reads 'a'");
  assert.equal(results[4]!.value, '0x7a');
  assert.equal(s.k.tasks[0]!.cow_faults, 1);
  assert.equal(s.k.vnodes.get('f')!.data[0], 0x61);
});

test('§9 row 12 (vm_direct_write_cow): a shared write after an untouched private mapping; private keeps the old data', () => {
  const { results, events } = session([FILE, PRIV, SHR, '- write: {addr: shr, value: b}', '- read: {addr: shr}', '- read: {addr: priv}']);
  assert.equal(results[4]!.value, '0x62');
  assert.equal(results[5]!.value, '0x61', 'the copy object received the old page (P6 push)');
  assert.ok(decisions(stepEvents(events, 4), 'vm_fault_page').includes('copy-object-push'));
});

test('§9 row 13 (mmap_unaligned): an unaligned offset maps from the page below; p = start + offset % page; p[i] is the file byte', () => {
  const { results, s } = session(['- file: {as: g, size: 20000, content: "0123456789abcdef"}', '- mmap: {as: p, length: 100, prot: r, flags: [private], file: g, offset: 0x1404}', '- read: {addr: p}']);
  const p = BigInt(results[1]!.ret!);
  assert.equal(p % 4096n, 0x404n);
  assert.equal(results[2]!.value, '0x34', "file byte 0x1404 is '4'");
  assert.equal(s.k.tasks[0]!.pageins, 1);
});

test('past EOF: the tail of the EOF page reads zeros; a page wholly past EOF is KERN_MEMORY_ERROR -> SIGBUS', () => {
  const { results } = session([FILE, SHR, '- read: {addr: shr+0x270f}', '- read: {addr: shr+0x2710}', '- read: {addr: shr+0x3000}']);
  assert.equal(results[2]!.value, '0x61');
  assert.equal(results[3]!.value, '0x0');
  assert.equal(results[4]!.signal?.name, 'SIGBUS');
  assert.deepEqual(results[4]!.mach_exception, { type: 1, code: 10, subcode: results[4]!.signal!.addr });
});

test('purge (drop_caches) writes dirty pages back and frees the cache: the next read is a pagein again', () => {
  const { s, results } = session([FILE, SHR, '- write: {addr: shr, value: q}', '- drop_caches: {}', '- read: {addr: shr}']);
  assert.equal(s.k.vnodes.get('f')!.data[0], 0x71, 'written back');
  assert.equal(results[4]!.majflt, 1);
  assert.equal(results[4]!.value, '0x71');
});

test('mmap of a file: EACCES for a shared writable mapping of a read-only descriptor; a private one is allowed', () => {
  const { results } = session([FILE, '- mmap: {as: x, length: 4k, prot: rw, flags: [shared], file: f, open: r}', '- mmap: {as: y, length: 4k, prot: rw, flags: [private], file: f, open: r}']);
  assert.equal(results[1]!.errno, 'EACCES');
  assert.equal(results[2]!.outcome, 'ok', 'a private mapping may be written (maxprot ALL: COW)');
});

test('pread through the UBC: a read across a page boundary pages in both pages; bytes past EOF read as nothing', () => {
  const { s, results } = session(['- file: {as: g, size: 4100, content: "0123456789"}', '- pread: {file: g, offset: 4094, size: 4}', '- pread: {file: g, offset: 4098, size: 4}']);
  assert.equal(results[1]!.value, '0x37363534', "bytes 4094..4097 are '4' '5' '6' '7' (little-endian)");
  assert.equal(results[1]!.ret, '0x4');
  assert.equal(results[2]!.ret, '0x2', 'two bytes before EOF');
  assert.equal(s.k.io.reads, 2);
});
