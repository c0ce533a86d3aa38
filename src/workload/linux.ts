// Runs a scenario's process operations on a booted Linux model (5.19 or 6.18): system calls go
// through the SYSCALL instruction and entry_SYSCALL_64; reads, writes and `exec` are user-mode
// accesses at CPL 3 on the user page tables, and a fault is delivered through the IDT to the
// kernel's entry code, which runs to IRETQ. The CPU then re-executes the instruction, unless a
// signal was delivered: with `signals: handle` a handler skips the faulting instruction (as
// test/conformance/probe.c does), with `default` the process dies.

import type { Machine } from '../hw/machine.js';
import { LEVEL_NAMES, WalkOut } from '../hw/paging.js';
import { A, D, HI_XD, RW, US } from '../hw/pte.js';
import { syscall_insn } from '../kernel/linux/arch/x86/entry/entry_64.js';
import { TASK_SIZE_MAX, type LinuxTask } from '../kernel/linux/arch/x86/include/asm/processor.js';
import { USER_SIGNAL_HANDLER } from '../kernel/linux/arch/x86/kernel/signal.js';
import { ERRNO_NAMES } from '../kernel/linux/include/uapi/asm-generic/errno-base.js';
import { exec_first_process } from '../kernel/linux/kernel/exec.js';
import { pte_pfn } from '../kernel/linux/arch/x86/mm/pgtable.js';
import { SIG_NAMES } from '../kernel/linux/kernel/signal.js';
import { BootError, LinuxKernel, USER_BRK0, USER_INSN_IP, USER_RSP, USER_SYSCALL_IP } from '../kernel/linux/linux.js';
import { register_syscalls, NR } from '../kernel/linux/arch/x86/entry/syscall_64.js';
import type { LinuxVersion } from '../kernel/linux/types.js';
import { mm_boot_settings, type ThpEnabled } from '../kernel/linux/mm/vmscan.js';
import { NR_PKEY, register_pkey_syscalls } from '../kernel/linux/arch/x86/mm/pkeys.js';
import { CR4_PKE, R_RIP } from '../hw/regs.js';
import { StepError } from './bare.js';
import { hex, okResult, withFields, type FaultRecord, type PageRecord, type SignalRecord, type StepResult } from './result.js';
import { evalExpr, type Expr } from './scenario/expr.js';
import { MMAP_FLAGS, PROTS, ADVICE, OPEN_MODES } from './scenario/ops.js';
import { fileBytes } from './filedata.js';
import { close_fd, create_file, do_sys_open, drop_pagecache, fget, O_RDONLY, O_RDWR, O_WRONLY } from '../kernel/linux/fs/fs.js';
import { filemap_read } from '../kernel/linux/mm/filemap.js';
import type { Step } from './scenario/schema.js';

export const LINUX_OPS = ['mmap', 'munmap', 'mprotect', 'madvise', 'mlock', 'munlock', 'brk', 'fork', 'exit', 'read', 'write', 'exec', 'getentropy', 'file', 'drop_caches', 'pread'] as const;

/** Protection-key operations (Linux only). */
export const LINUX_PKEY_OPS = ['pkey_alloc', 'pkey_free', 'pkey_mprotect', 'pkey_set'] as const;

type Base = Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>;

const PROT_BITS: Record<(typeof PROTS)[number], number> = { none: 0, r: 1, w: 2, x: 4, rw: 3, rx: 5, wx: 6, rwx: 7 };
const MAP_BITS: Record<(typeof MMAP_FLAGS)[number], number> = {
  private: 0x02, shared: 0x01, anonymous: 0x20, fixed: 0x10, fixed_noreplace: 0x100000, populate: 0x8000,
  growsdown: 0x100, noreserve: 0x4000, locked: 0x2000, stack: 0x20000,
};
const ADVICE_NR: Record<(typeof ADVICE)[number], number> = {
  normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4, free: 8, dontfork: 10, dofork: 11,
  wipeonfork: 18, keeponfork: 19, cold: 20, pageout: 21, hugepage: 14, nohugepage: 15,
  // XNU-only advice: numbers no Linux advice uses (uapi/asm-generic/mman-common.h skips 5-7), so
  // madvise_behavior_valid() refuses them with EINVAL, as Linux does for any advice it lacks.
  zero: 5, free_reusable: 6, free_reuse: 7,
};
const OPEN_ACC: Record<(typeof OPEN_MODES)[number], number> = { r: O_RDONLY, w: O_WRONLY, rw: O_RDWR };
/** A user instruction may fault this many times in one step before the model calls it stuck. */
const MAX_REFAULTS = 8;

export interface LinuxSessionOptions {
  signals: 'handle' | 'default';
  seed: number;
  /** RAM in bytes (scenario `machine.ram`). */
  ram?: bigint;
  /** Swap in bytes, THP mode, RLIMIT_STACK in bytes, stack_guard_gap in pages (scenario `machine:`). */
  swap?: bigint;
  thp?: ThpEnabled;
  rlimitStack?: bigint;
  stackGuardGap?: number;
  /** The CPU has PKU (scenario `machine.pku`). */
  pku?: boolean;
  /** Reads a host file for `file: {content: {host: PATH}}` (the command line gives one; absent in a browser). */
  readHostFile?: (path: string) => Uint8Array;
}

export class LinuxSession {
  readonly k!: LinuxKernel;
  private readonly names = new Map<string, bigint>();
  private readonly procs = new Map<string, LinuxTask>();
  /** Scratch for the page record's walk (read at once, never kept). */
  private readonly pageWalk = new WalkOut();
  /** Why the kernel could not boot (then every step is an error saying so). */
  private readonly bootError: string | null = null;

  constructor(readonly m: Machine, version: LinuxVersion, readonly opts: LinuxSessionOptions) {
    const ramPages = opts.ram === undefined ? undefined : Number(opts.ram / 4096n);
    try {
      this.k = new LinuxKernel(m, version, { ramPages, seed: opts.seed });
      mm_boot_settings(this.k, {
        swapPages: opts.swap === undefined ? undefined : Number(opts.swap / 4096n), thp: opts.thp,
        rlimitStack: opts.rlimitStack === undefined ? undefined : Number(opts.rlimitStack), stackGuardGapPages: opts.stackGuardGap,
        pku: opts.pku,
      });
      const main = exec_first_process(this.k, 'main');
      register_syscalls(this.k);
      register_pkey_syscalls(this.k.syscalls);
      this.procs.set('main', main);
      this.setSignals(main);
    } catch (e) {
      if (!(e instanceof BootError)) throw e;
      this.bootError = `machine.ram: ${e.message}`;
    }
    this.names.set('brk0', BigInt(USER_BRK0));
    this.names.set('stack', USER_RSP);
  }

  private setSignals(t: LinuxTask): void {
    const act = this.opts.signals === 'handle' ? 'handler' : 'default';
    t.sighand.set(11, act);
    t.sighand.set(7, act);
  }

  addr(e: Expr): bigint {
    return evalExpr(e, this.names);
  }

  run(step: Step, base: Base): StepResult {
    if (this.bootError !== null) return withFields(base, { outcome: 'error', message: this.bootError });
    const t = this.procs.get(step.proc);
    if (!t) throw new StepError(`no process '${step.proc}' (processes: ${[...this.procs.keys()].join(', ')})`);
    if (t.state === 'dead') throw new StepError(`process '${step.proc}' has exited`);
    this.k.switch_to(t);
    const before = { min: t.min_flt, maj: t.maj_flt, log: this.k.dmesg.length };
    this.m.takeRaised();
    const r = this.dispatch(step, base, t);
    const faults = this.m.takeRaised().map((f): FaultRecord => ({ vector: f.vector, error_code: f.errorCode ?? 0, cr2: hex(f.cr2 ?? this.m.cpu.cr2) }));
    if (faults.length) r.faults = faults;
    if (step.op !== 'fork' && step.op !== 'exit') {
      r.minflt = t.min_flt - before.min;
      r.majflt = t.maj_flt - before.maj;
    }
    if (this.k.dmesg.length > before.log) r.log = this.k.dmesg.slice(before.log);
    return r;
  }

  private dispatch(step: Step, base: Base, t: LinuxTask): StepResult {
    const ok = okResult(base);
    switch (step.op) {
      case 'mmap': {
        const a = step.args;
        const flags = a.flags.reduce((f, n) => f | MAP_BITS[n], 0);
        // A file mapping is open(name, mode); mmap(..., fd, offset); close(fd), as a program does.
        let fd = -1n;
        if (a.file !== undefined) {
          if (a.flags.includes('anonymous')) throw new StepError('a file mapping cannot be anonymous: drop `anonymous` or `file`');
          const n = do_sys_open(this.k, a.file, OPEN_ACC[a.open ?? 'rw']);
          if (n < 0) throw new StepError(`no file '${a.file}' (create it first with a \`file:\` step)`);
          fd = BigInt(n);
        } else if (a.open !== undefined) throw new StepError('open is for file mappings (with file:)');
        const r = this.syscall(NR.mmap, [a.addr ? this.addr(a.addr) : 0n, a.length, BigInt(PROT_BITS[a.prot]), BigInt(flags), fd, a.offset ?? 0n], ok);
        if (fd >= 0n) close_fd(this.k, Number(fd));
        if (r.outcome === 'ok' && a.as !== undefined) this.names.set(a.as, BigInt(r.ret!));
        if (r.outcome === 'ok') this.page(r, BigInt(r.ret!));
        return r;
      }
      case 'munmap': return this.ranged(NR.munmap, step.args, [], ok);
      case 'mprotect': return this.ranged(NR.mprotect, step.args, [BigInt(PROT_BITS[step.args.prot])], ok);
      case 'madvise': return this.ranged(NR.madvise, step.args, [BigInt(ADVICE_NR[step.args.advice])], ok);
      case 'mlock': return this.ranged(NR.mlock, step.args, [], ok);
      case 'munlock': return this.ranged(NR.munlock, step.args, [], ok);
      case 'brk': {
        const r = this.syscall(NR.brk, [this.addr(step.args.addr)], ok);
        return withFields(r, { outcome: 'ok', errno: undefined }); // brk returns the (old) break on failure
      }
      case 'pkey_alloc': {
        const rights = step.args.rights.reduce((f, n) => f | (n === 'disable_access' ? 1 : 2), 0);
        const r = this.syscall(NR_PKEY.pkey_alloc, [0n, BigInt(rights)], ok);
        if (r.outcome === 'ok' && step.args.as !== undefined) this.names.set(step.args.as, BigInt(r.ret!));
        return r;
      }
      case 'pkey_free': return this.syscall(NR_PKEY.pkey_free, [this.addr(step.args.pkey)], ok);
      case 'pkey_mprotect': {
        const a = step.args;
        return this.ranged(NR_PKEY.pkey_mprotect, a, [BigInt(PROT_BITS[a.prot]), this.addr(a.pkey)], ok);
      }
      case 'pkey_set': {
        // glibc pkey_set(): RDPKRU, change the key's two bits, WRPKRU (a user instruction: #UD without CR4.PKE).
        const key = Number(this.addr(step.args.pkey));
        if (!(this.m.cpu.cr4 & CR4_PKE)) return withFields(ok, { outcome: 'error', message: 'WRPKRU: #UD (the CPU has no PKU: set machine.pku)' });
        if (key < 0 || key > 15) throw new StepError(`pkey ${key} is not 0..15`);
        const rights = step.args.rights.reduce((f, n) => f | (n === 'disable_access' ? 1 : 2), 0);
        this.m.setPkru(((this.m.cpu.pkru & ~(3 << (2 * key))) | (rights << (2 * key))) >>> 0);
        return withFields(ok, { value: hex(BigInt(this.m.cpu.pkru)) });
      }
      case 'getentropy': {
        // glibc's getentropy(buf, len) is getrandom(buf, len, 0) (len <= 256).
        const va = this.addr(step.args.addr);
        if (step.args.length > 256n) return withFields(ok, { outcome: 'error', errno: 'EIO', ret: hex(-1n), message: 'getentropy: more than 256 bytes' });
        const r = this.syscall(NR.getrandom, [va, step.args.length, 0n], ok);
        this.page(r, va);
        return r;
      }
      case 'fork': {
        const r = this.syscall(NR.fork, [], ok);
        const child = r.outcome === 'ok' ? this.k.tasks.get(Number(BigInt(r.ret!))) : undefined;
        if (!child) return r;
        child.name = step.args.as;
        this.procs.set(step.args.as, child);
        return r;
      }
      case 'exit': {
        const r = this.syscall(NR.exit_group, [BigInt(step.args.code ?? 0)], ok);
        return t.state === 'dead' ? withFields(ok, { message: `pid ${t.pid} exited with status ${step.args.code ?? 0}` }) : r;
      }
      case 'read':
      case 'write': {
        const va = this.addr(step.args.addr);
        const value = step.op === 'write' ? step.args.value : undefined;
        const r = this.userAccess(ok, va, step.op, step.args.size, value, t);
        this.page(r, va);
        return r;
      }
      case 'file': {
        const a = step.args;
        const data = fileBytes(a, this.opts.readHostFile);
        create_file(this.k, a.as, data, a.fs === 'tmpfs');
        return withFields(ok, { ret: hex(BigInt(data.length)) });
      }
      case 'drop_caches': {
        const n = drop_pagecache(this.k);
        return withFields(ok, { ret: hex(BigInt(n)), message: `${n} page-cache pages dropped` });
      }
      case 'pread': {
        const a = step.args;
        const fd = do_sys_open(this.k, a.file, 0);
        if (fd < 0) throw new StepError(`no file '${a.file}' (create it first with a \`file:\` step)`);
        const r = filemap_read(this.k, fget(this.k, fd)!, Number(a.offset), a.size);
        close_fd(this.k, fd);
        return withFields(ok, { ret: hex(BigInt(r.n)), value: hex(r.value) });
      }
      case 'exec': {
        const va = this.addr(step.args.addr);
        const r = this.userExec(ok, va, t);
        this.page(r, va);
        return r;
      }
      default:
        throw new StepError(`'${step.op}' is a machine operation: it runs on the bare kernel only`);
    }
  }

  /** A call on [addr, addr+length): the result, and the page at addr afterwards. */
  private ranged(nr: number, a: { addr: Expr; length: bigint }, more: bigint[], ok: StepResult): StepResult {
    const va = this.addr(a.addr);
    const r = this.syscall(nr, [va, a.length, ...more], ok);
    this.page(r, va);
    return r;
  }

  /** A system call through SYSCALL / entry_SYSCALL_64; fills ret, errno and the outcome. */
  private syscall(nr: number, args: bigint[], r: StepResult): StepResult {
    const c = this.m.cpu;
    const regs = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const;
    args.forEach((v, i) => (c.gpr[regs[i]!] = BigInt.asUintN(64, v)));
    c.gpr.rax = BigInt(nr);
    c.rip = USER_SYSCALL_IP;
    syscall_insn(this.k, USER_SYSCALL_IP + 2n);
    if (!this.k.syms.runAt(this.k, c.rip)) throw new Error('model bug: no entry_SYSCALL_64');
    if (this.k.current.state === 'dead') return r;
    const ret = BigInt.asIntN(64, c.gpr.rax);
    const out: StepResult = withFields(r, { ret: hex(ret) });
    if (ret < 0n && ret >= -4095n) {
      out.outcome = 'error';
      out.errno = ERRNO_NAMES[Number(-ret)] ?? `errno ${-ret}`;
      out.message = `${this.k.syscalls.get(nr)?.name ?? `syscall ${nr}`}() failed: -${out.errno}`;
    }
    return out;
  }

  /**
   * One user instruction that accesses memory (`mov`): the CPU tries it; each fault is handled by
   * the kernel's entry code (to IRETQ) and the instruction runs again, until it completes or a
   * signal ends it.
   */
  private userAccess(r: StepResult, va: bigint, access: 'read' | 'write', size: number, value: bigint | undefined, t: LinuxTask): StepResult {
    const m = this.m;
    for (let n = 0; n < MAX_REFAULTS; n++) {
      m.cpu.rip = USER_INSN_IP;
      const res = m.access({ va, access, size, value, what: access === 'read' ? 'mov (mem), reg' : 'mov reg, (mem)' });
      if (res.kind === 'ok') return withFields(r, { value: hex(res.value) });
      const end = this.afterException(r, t);
      if (end) return end;
    }
    return withFields(r, { outcome: 'error', message: `the access kept faulting (${MAX_REFAULTS} times) without progress` });
  }

  /** `call addr` (push the return address), the fetch at addr, and the `ret` found there. */
  private userExec(r: StepResult, va: bigint, t: LinuxTask): StepResult {
    const m = this.m;
    const ret = USER_INSN_IP + 5n;
    const push = this.userAccess(r, m.cpu.rsp - 8n, 'write', 8, ret, t);
    if (push.outcome !== 'ok') return push;
    m.cpu.rsp -= 8n;
    for (let n = 0; n < MAX_REFAULTS; n++) {
      m.cpu.rip = va;
      const res = m.access({ va, access: 'exec', size: 1, what: 'instruction fetch' });
      if (res.kind === 'ok') {
        m.cpu.rip = ret; // the `ret` there
        m.cpu.rsp += 8n;
        return withFields(r);
      }
      const end = this.afterException(r, t);
      if (end) {
        if (end.outcome === 'signal' && t.state !== 'dead') m.cpu.rsp += 8n; // the handler unwinds the call
        return end;
      }
      if (m.cpu.rip === ret) return withFields(r); // emulate_vsyscall() performed the call and its `ret`
    }
    return withFields(r, { outcome: 'error', message: `the fetch kept faulting (${MAX_REFAULTS} times) without progress` });
  }

  /**
   * The CPU delivered an exception: run the entry code at RIP. Returns the step's end when the
   * instruction will not run again (a signal, or the process died), else null (re-execute).
   */
  private afterException(r: StepResult, t: LinuxTask): StepResult | null {
    const m = this.m;
    if (m.shutdown) return withFields(r, { outcome: 'killed', message: 'triple fault: the processor shut down' });
    if (!this.k.syms.runAtRip(this.k)) {
      return withFields(r, { outcome: 'error', message: `no model of the handler at ${this.k.syms.describe(m.cpu.rip)} (only #PF and #GP are modelled)` });
    }
    if (t.state === 'dead') {
      const d = t.delivered;
      const sig = d ? signalRecord(d) : undefined;
      const how = (t.exit_code & 0x7f) !== 0 ? `killed by ${SIG_NAMES[t.exit_code & 0x7f] ?? t.exit_code & 0x7f}${t.exit_code & 0x80 ? ' (core dumped)' : ''}` : 'exited';
      return withFields(r, { outcome: 'signal', signal: sig, message: `pid ${t.pid} ${how}` });
    }
    if (m.cpu.r[R_RIP] === SIGNAL_HANDLER_LO && m.cpu.r[R_RIP + 1] === SIGNAL_HANDLER_HI) { // RIP = USER_SIGNAL_HANDLER
      m.cpu.rip = USER_INSN_IP + 3n; // the handler skips the faulting instruction and returns
      return withFields(r, { outcome: 'signal', signal: t.delivered ? signalRecord(t.delivered) : undefined });
    }
    return null;
  }

  /** The leaf mapping of a user address after the step (pagemap's view). */
  private page(r: StepResult, va: bigint): void {
    if (va < 0n || va >= TASK_SIZE_MAX_BIG || this.k.current.state === 'dead') return; // below TASK_SIZE_MAX: canonical
    r.page = pageRecord(this.m, va, this.k.zero_pfn, this.pageWalk);
  }
}

function signalRecord(d: NonNullable<LinuxTask['delivered']>): SignalRecord {
  return {
    signo: d.signo, name: SIG_NAMES[d.signo] ?? `SIG${d.signo}`, code: d.code, addr: hex(d.addr), trapno: d.trapno, err: d.err,
    ...(d.pkey === undefined ? {} : { pkey: d.pkey }),
  };
}

const TASK_SIZE_MAX_BIG = BigInt(TASK_SIZE_MAX);

/** USER_SIGNAL_HANDLER's halves, to test RIP without reading it as a bigint. */
const SIGNAL_HANDLER_LO = Number(USER_SIGNAL_HANDLER & 0xffffffffn);
const SIGNAL_HANDLER_HI = Number(USER_SIGNAL_HANDLER >> 32n);

/** The PTE for `va` in the current (user) page tables. */
export function pageRecord(m: Machine, va: bigint, zeroPfn: number, scratch: WalkOut = new WalkOut()): PageRecord {
  const w = m.previewWalk(va, scratch);
  const lo = w.lo[w.level]!;
  const hi = w.hi[w.level]!;
  // pagemap's "present" is pte_present(): P, or a PROT_NONE entry (_PAGE_PROTNONE, bit 8, P=0).
  const present = LEVEL_NAMES[w.level] === 'pt' ? (lo & 0x101) !== 0 : w.status === 0;
  if (!present) {
    return { present: false, writable: false, user: false, nx: false, pfn: '0x0', zero_page: false, accessed: false, dirty: false };
  }
  // pte_pfn(): a PROT_NONE entry keeps its frame number inverted (the L1TF mitigation).
  // A 2 MiB or 1 GiB leaf: the 4 KiB frame of va inside it (pagemap reports the subpage).
  const sub = Number((va >> 12n) & (LEVEL_NAMES[w.level] === 'pd' ? 511n : 0x3ffffn));
  const pfn = LEVEL_NAMES[w.level] === 'pt' ? pte_pfn(lo, hi) : Math.floor((lo >>> 12) + (hi & 0xfffff) * 2 ** 20) - ((lo >>> 12) & 1) + sub;
  return {
    present: true, writable: (lo & RW) !== 0, user: (lo & US) !== 0, nx: (hi & HI_XD) !== 0, pfn: hex(pfn),
    zero_page: pfn === zeroPfn, accessed: (lo & A) !== 0, dirty: (lo & D) !== 0,
  };
}
