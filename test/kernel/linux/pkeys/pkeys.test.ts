// Protection keys (checklist 11; oracle: selftests/vm/protection_keys.c). The host CPU has no PKU
// (no `pku` in /proc/cpuinfo), so these test the model against the source's rules
// (arch/x86/mm/pkeys.c, mm/mprotect.c, access_error / bad_area_access_error in arch/x86/mm/fault.c).
//
//   m: [ page 0: present, key k1 | page 1: not present, key k1 ]

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INIT_PKRU_VALUE } from '../../../../src/kernel/linux/arch/x86/mm/pkeys.js';
import { bootPressure, decisions, VERSIONS } from '../pressure/session.js';

const SETUP = `  - mmap: {as: m, length: 8k, prot: rw, flags: [private, anonymous]}
  - write: {addr: m, value: 1}
  - pkey_alloc: {as: k1, rights: [disable_write]}
  - pkey_mprotect: {addr: m, length: 8k, prot: rw, pkey: k1}
`;

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 11: a write denied by PKRU (hardware PK bit) is SEGV_PKUERR with si_pkey, never resolved`, () => {
    const b = bootPressure(v, { pku: true });
    const r = b.steps(SETUP + `  - read: {addr: m}\n  - write: {addr: m, value: 2}\n`);
    assert.equal(r[2]!.ret, '0x1', 'the first key handed out is 1');
    assert.equal(r[4]!.value, '0x1', 'write-disable still allows reads');
    const w = r[5]!;
    assert.equal(w.faults![0]!.error_code, 0x27, 'P|W|U|PK');
    assert.deepEqual([w.signal!.name, w.signal!.code, w.signal!.pkey], ['SIGSEGV', 4, 1]);
    assert.deepEqual(decisions(b.sink.events, 'access_error').at(-1), 'X86_PF_PK');
    assert.deepEqual(decisions(b.sink.events, 'bad_area_access_error'), ['SEGV_PKUERR']);
    assert.equal(w.minflt, 0);
  });

  test(`linux ${v}: checklist 11: a not-present page is checked against PKRU in software (arch_vma_access_permitted)`, () => {
    const b = bootPressure(v, { pku: true });
    const r = b.steps(SETUP + `  - write: {addr: m+4k, value: 2}\n  - pkey_set: {pkey: k1, rights: [disable_access]}\n  - read: {addr: m+4k}\n`);
    const w = r[4]!;
    assert.equal(w.faults![0]!.error_code, 0x6, 'no PK bit: the page is not present');
    assert.deepEqual([w.signal!.code, w.signal!.pkey], [4, 1]);
    assert.equal(w.page!.present, false, 'nothing was allocated');
    assert.equal(r[5]!.value, '0x' + ((INIT_PKRU_VALUE & ~0xc) | 0x4).toString(16), 'WRPKRU set AD for key 1');
    assert.deepEqual([r[6]!.faults![0]!.error_code, r[6]!.signal!.code], [0x4, 4]);
    assert.ok(decisions(b.sink.events, 'access_error').includes("PKRU denies the VMA's protection key"));
  });

  test(`linux ${v}: a kernel copy into an access-disabled region fails with EFAULT and no signal (exception-table fixup)`, () => {
    const b = bootPressure(v, { pku: true });
    const r = b.steps(SETUP + `  - pkey_set: {pkey: k1, rights: [disable_access]}\n  - getentropy: {addr: m, length: 16}\n`);
    assert.equal(r[5]!.errno, 'EFAULT');
    assert.equal(r[5]!.signal, undefined);
  });

  test(`linux ${v}: pkey_alloc/pkey_free/pkey_mprotect errors; fork inherits PKRU and the allocated keys`, () => {
    const b = bootPressure(v, { pku: true });
    const r = b.steps(SETUP + `  - pkey_free: {pkey: 0}
  - pkey_mprotect: {addr: m, length: 4k, prot: r, pkey: 7}
  - fork: {as: c}
  - write: {addr: m, value: 3}
    proc: c
  - pkey_free: {pkey: k1}
    proc: c
  - pkey_free: {pkey: k1}
    proc: c
`);
    assert.equal(r[4]!.errno, 'EINVAL', 'key 0 is never freed');
    assert.equal(r[5]!.errno, 'EINVAL', 'key 7 was not allocated');
    assert.deepEqual([r[7]!.signal?.code, r[7]!.signal?.pkey], [4, 1], "the child's PKRU write-disables key 1 too");
    assert.equal(r[8]!.outcome, 'ok', "the child's mm has key 1 allocated");
    assert.equal(r[9]!.errno, 'EINVAL');
  });

  test(`linux ${v}: without PKU (the default, like the host) pkey_alloc fails with ENOSPC and WRPKRU is #UD`, () => {
    const b = bootPressure(v);
    const r = b.steps(`  - pkey_alloc: {}\n  - pkey_set: {pkey: 1, rights: []}\n`);
    assert.equal(r[0]!.errno, 'ENOSPC');
    assert.match(r[1]!.message!, /#UD/);
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: with PKU, PROT_EXEC-only memory gets the execute-only pkey: fetches run, reads are SEGV_PKUERR; mprotect back to rx restores key 0`, () => {
    const b = bootPressure(v, { pku: true });
    const r = b.steps(`  - mmap: {as: x, length: 4k, prot: x, flags: [private, anonymous]}
  - exec: {addr: x}
  - read: {addr: x}
  - mprotect: {addr: x, length: 4k, prot: rx}
  - read: {addr: x}
  - mmap: {as: w, length: 4k, prot: rw, flags: [private, anonymous]}
  - mprotect: {addr: w, length: 4k, prot: x}
  - read: {addr: w}
`);
    assert.equal(r[1]!.outcome, 'ok', 'PKRU does not apply to instruction fetches');
    assert.deepEqual([r[2]!.signal?.code, r[2]!.signal?.pkey], [4, 1], 'the execute-only key is 1 and access-disabled');
    assert.equal(r[4]!.outcome, 'ok', 'rx: back to key 0');
    assert.deepEqual([r[7]!.signal?.code, r[7]!.signal?.pkey], [4, 1], 'mprotect(PROT_EXEC) reuses the same key');
    const nopku = bootPressure(v).steps(`  - mmap: {as: x, length: 4k, prot: x, flags: [private, anonymous]}\n  - read: {addr: x}\n`);
    assert.equal(nopku[1]!.outcome, 'ok', 'without PKU, x86 cannot express execute-only: reads succeed');
  });
}
