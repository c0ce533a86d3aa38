// Runs the process operations of a scenario on the XNU model (xnu-11417): system calls (mmap,
// munmap, mprotect, minherit, fork, exit, getentropy, the mach_vm_* calls), files (file,
// drop_caches = purge, pread) and user-mode memory
// accesses (read, write, exec). An access that faults goes through the whole path — the IDT
// gate, idt64.s, user_trap, vm_fault, the return through iretq — and is retried as the CPU
// re-executes the instruction, until it completes or ends in a signal.

import type { Machine } from '../hw/machine.js';
import { R_RW, R_US, R_XD, W_OK, WalkOut } from '../hw/paging.js';
import { A, D } from '../hw/pte.js';
import { bootXnu } from '../kernel/xnu/boot.js';
import { fork1 } from '../kernel/xnu/bsd/kern/kern_fork.js';
import { exit1 } from '../kernel/xnu/bsd/kern/kern_exit.js';
import { madvise, mlock, mmap, mmap_file, mprotect, munlock, munmap, minherit, type SysResult } from '../kernel/xnu/bsd/kern/kern_mman.js';
import { ubc_getobject, vfs_purge, vnode_create } from '../kernel/xnu/bsd/vfs/vfs_subr.js';
import { vnode_read } from '../kernel/xnu/bsd/vm/vnode_pager.js';
import { PURGABLE_NAMES, vm_map_purgable_control, VM_PURGABLE_NONVOLATILE, VM_PURGABLE_VOLATILE } from '../kernel/xnu/osfmk/vm/vm_purgeable.js';
import { signalName, SIGKILL } from '../kernel/xnu/bsd/kern/kern_sig.js';
import { USRSTACK64 } from '../kernel/xnu/bsd/kern/mach_loader.js';
import { getentropy } from '../kernel/xnu/bsd/dev/random/randomdev.js';
import { switch_to_task, syscall_enter, syscall_return } from '../kernel/xnu/osfmk/i386/pcb_native.js';
import type { Task } from '../kernel/xnu/osfmk/kern/task.js';
import { mach_vm_allocate, mach_vm_deallocate, mach_vm_protect, mach_vm_read, mach_vm_read_overwrite } from '../kernel/xnu/osfmk/vm/vm_user.js';
import { idt64_trap_entry } from '../kernel/xnu/osfmk/x86_64/idt64.js';
import { krName, VM_INHERIT_COPY, VM_INHERIT_NONE, VM_INHERIT_SHARE, VM_PROT_COPY, Xnu } from '../kernel/xnu/xnu.js';
import { StepError } from './bare.js';
import { hex, okResult, withFields, type FaultRecord, type PageRecord, type StepResult } from './result.js';
import { evalExpr, type Expr } from './scenario/expr.js';
import type { Step } from './scenario/schema.js';
import { fileBytes } from './filedata.js';

export const XNU_OPS = [
  'mmap', 'munmap', 'mprotect', 'madvise', 'mlock', 'munlock', 'minherit', 'fork', 'exit', 'read', 'write', 'exec', 'getentropy',
  'mach_vm_allocate', 'mach_vm_deallocate', 'mach_vm_protect', 'mach_vm_read', 'mach_vm_read_overwrite', 'file', 'drop_caches', 'pread',
  'vm_purgable_control',
] as const;

/** An access is retried at most this often (a KERN_ABORTED loop means no memory will come). */
const MAX_ATTEMPTS = 8;
const PROT_BITS: Record<string, number> = { none: 0, r: 1, w: 2, x: 4, rw: 3, rx: 5, wx: 6, rwx: 7 };
const INHERIT: Record<string, number> = { share: VM_INHERIT_SHARE, copy: VM_INHERIT_COPY, none: VM_INHERIT_NONE };

type Base = Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>;

export interface XnuSessionOptions {
  seed: number;
  ram?: number;
  signals?: 'handle' | 'default';
  randL3?: number;
  /** Reads a host file for `file: {content: {host: PATH}}` (the command line gives one). */
  readHostFile?: (path: string) => Uint8Array;
}

export class XnuSession {
  readonly k: Xnu;
  private readonly procs = new Map<string, Task>();
  private readonly names = new Map<string, bigint>();

  /** Why the kernel did not boot (a RAM too small): every step reports it. */
  private readonly bootError: string | null = null;

  private readonly readHostFile: ((path: string) => Uint8Array) | undefined;
  /** Scratch for the page record's walk. */
  private readonly pageWalk = new WalkOut();

  constructor(readonly machine: Machine, opts: XnuSessionOptions) {
    this.readHostFile = opts.readHostFile;
    const bootOpts = { seed: opts.seed, ram: opts.ram, signals: opts.signals, randL3: opts.randL3 };
    let booted: ReturnType<typeof bootXnu> | null = null;
    try {
      booted = bootXnu(machine, bootOpts);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('model limit'))) throw e;
      this.bootError = e.message;
    }
    this.k = booted?.k ?? new Xnu(machine, bootOpts);
    if (booted) {
      this.procs.set('main', booted.init);
      switch_to_task(this.k, booted.init);
    }
    this.names.set('stack', BigInt(USRSTACK64));
  }

  /** The task running a scenario process. */
  task(name: string): Task {
    const t = this.procs.get(name);
    if (!t) throw new StepError(`no process '${name}' (processes: ${[...this.procs.keys()].join(', ')}; fork one with fork: {as: ${name}})`);
    if (t.proc.exited) throw new StepError(`process '${name}' has exited${t.proc.p_xsig ? ` (killed by ${signalName(t.proc.p_xsig)})` : ''}`);
    return t;
  }

  addr(e: Expr): bigint {
    return evalExpr(e, this.names);
  }

  run(step: Step, base: Base): StepResult {
    if (this.bootError) throw new StepError(this.bootError);
    try {
      return this.runStep(step, base);
    } catch (e) {
      // The model's resource limits (a RAM too small for a page table or a PCB) are the
      // scenario's to fix, not model bugs: report them as the step's error.
      if (e instanceof Error && e.message.startsWith('model limit')) throw new StepError(e.message);
      throw e;
    }
  }

  private runStep(step: Step, base: Base): StepResult {
    const t = this.task(step.proc);
    switch_to_task(this.k, t);
    const r = okResult(base);
    const jetsam0 = this.k.jetsamLog.length;
    let out: StepResult;
    switch (step.op) {
      case 'read': out = this.access(t, r, this.addr(step.args.addr), 'read', step.args.size, undefined); break;
      case 'write': out = this.access(t, r, this.addr(step.args.addr), 'write', step.args.size, step.args.value); break;
      case 'exec': out = this.access(t, r, this.addr(step.args.addr), 'exec', 1, undefined); break;
      default: out = this.syscall(t, step, r);
    }
    // memorystatus kills during the step are the kernel's log lines (os_log), as Linux's OOM report is
    if (this.k.jetsamLog.length > jetsam0) out.log = [...(out.log ?? []), ...this.k.jetsamLog.slice(jetsam0)];
    return out;
  }

  private syscall(t: Task, step: Step, r: StepResult): StepResult {
    const k = this.k;
    syscall_enter(k, t);
    let out: StepResult;
    try {
      out = this.dispatch(t, step, r);
    } finally {
      const cur = this.procs.get(step.proc)!;
      if (!cur.proc.exited) syscall_return(k, cur);
    }
    // Faults the kernel took on user memory during the call (copyout), reported with the call.
    const raised = k.m.takeRaised();
    if (raised.length) out.faults = raised.map((f) => ({ vector: f.vector, error_code: f.errorCode ?? 0, cr2: hex(f.cr2 ?? k.m.cpu.cr2) }));
    return out;
  }

  private dispatch(t: Task, step: Step, r: StepResult): StepResult {
    const k = this.k;
    switch (step.op) {
      case 'mmap': {
        const a = step.args;
        if (a.file !== undefined) {
          if (a.flags.includes('anonymous')) throw new StepError('a file mapping cannot be anonymous: drop `anonymous` or `file`');
          const open = a.open ?? 'rw';
          const vnode = k.vnodes.get(a.file);
          if (!vnode) throw new StepError(`no file '${a.file}' (create it first with a \`file:\` step)`);
          const res = mmap_file(k, t, a.addr === undefined ? 0n : this.addr(a.addr), a.length, PROT_BITS[a.prot]!, { shared: a.flags.includes('shared'), fixed: a.flags.includes('fixed') }, {
            vnode, name: a.file, fread: open !== 'w', fwrite: open !== 'r', offset: a.offset ?? 0n,
          });
          if (res.error === 0 && a.as !== undefined) this.names.set(a.as, res.ret);
          return sys(r, res, 'mmap');
        }
        if (a.open !== undefined) throw new StepError('open is for file mappings (with file:)');
        if (!a.flags.includes('anonymous')) throw new StepError('an mmap without file: must be anonymous (add `anonymous`, or map a file with file:)');
        const res = mmap(k, t, a.addr === undefined ? 0n : this.addr(a.addr), a.length, PROT_BITS[a.prot]!, { shared: a.flags.includes('shared'), fixed: a.flags.includes('fixed') });
        if (res.error === 0 && a.as !== undefined) this.names.set(a.as, res.ret);
        return sys(r, res, 'mmap');
      }
      case 'munmap': return sys(r, munmap(k, t, this.addr(step.args.addr), step.args.length), 'munmap');
      case 'mprotect': return sys(r, mprotect(k, t, this.addr(step.args.addr), step.args.length, PROT_BITS[step.args.prot]!), 'mprotect');
      case 'madvise': return sys(r, madvise(k, t, this.addr(step.args.addr), step.args.length, step.args.advice), 'madvise');
      case 'mlock': return sys(r, mlock(k, t, this.addr(step.args.addr), step.args.length), 'mlock');
      case 'munlock': return sys(r, munlock(k, t, this.addr(step.args.addr), step.args.length), 'munlock');
      case 'minherit': return sys(r, minherit(k, t, this.addr(step.args.addr), step.args.length, INHERIT[step.args.inherit]!), 'minherit');
      case 'fork': {
        if (this.procs.has(step.args.as) && !this.procs.get(step.args.as)!.proc.exited) throw new StepError(`a process named '${step.args.as}' already exists`);
        const child = fork1(k, t, step.args.as);
        this.procs.set(step.args.as, child);
        return { ...r, ret: hex(child.proc.p_pid) };
      }
      case 'exit':
        exit1(k, t, 0);
        return r;
      case 'getentropy': {
        const res = getentropy(k, this.addr(step.args.addr), Number(step.args.length));
        if (res.error === 'panic') return { ...r, outcome: 'killed', message: k.trap.panic ?? 'kernel panic' };
        return res.error === 0 ? { ...r, ret: '0x0' } : { ...r, outcome: 'error', errno: res.error, ret: hex(-1), message: `getentropy() failed: ${res.error}` };
      }
      case 'mach_vm_allocate': {
        const a = step.args;
        const anywhere = !a.flags.includes('fixed');
        const res = mach_vm_allocate(k, t.map, a.addr === undefined ? 0n : this.addr(a.addr), a.size, {
          anywhere, overwrite: a.flags.includes('overwrite'), permanent: a.flags.includes('permanent'), purgable: a.flags.includes('purgable'),
        });
        if (res.kr === 0 && a.as !== undefined) this.names.set(a.as, res.addr);
        return kr(r, 'mach_vm_allocate', res.kr, res.addr);
      }
      case 'mach_vm_deallocate': return kr(r, 'mach_vm_deallocate', mach_vm_deallocate(k, t.map, this.addr(step.args.addr), step.args.size));
      case 'mach_vm_protect': {
        const a = step.args;
        return kr(r, 'mach_vm_protect', mach_vm_protect(k, t.map, this.addr(a.addr), a.size, a.set_max ?? false, PROT_BITS[a.prot]! | (a.copy ? VM_PROT_COPY : 0)));
      }
      case 'mach_vm_read': {
        const a = step.args;
        const res = mach_vm_read(k, t.map, this.addr(a.addr), a.size);
        if (res.kr === 0 && a.as !== undefined) this.names.set(a.as, res.addr);
        return kr(r, 'mach_vm_read', res.kr, res.addr);
      }
      case 'mach_vm_read_overwrite': {
        const a = step.args;
        return kr(r, 'mach_vm_read_overwrite', mach_vm_read_overwrite(k, t.map, this.addr(a.addr), a.size, this.addr(a.data)));
      }
      case 'vm_purgable_control': {
        const a = step.args;
        const state = a.state === undefined ? null : a.state === 'volatile' ? VM_PURGABLE_VOLATILE : VM_PURGABLE_NONVOLATILE;
        const res = vm_map_purgable_control(k, t.map, Number(this.addr(a.addr)), state);
        if (res.kr !== 0) return kr(r, 'vm_purgable_control', res.kr);
        return { ...r, ret: hex(res.old), message: `old state ${PURGABLE_NAMES[res.old]}` };
      }
      case 'file': {
        const data = fileBytes(step.args, this.readHostFile);
        vnode_create(k, step.args.as, data);
        return { ...r, ret: hex(data.length) };
      }
      case 'drop_caches': {
        const n = vfs_purge(k);
        return { ...r, message: `purge: ${n} cached file page(s) dropped` };
      }
      case 'pread': {
        const a = step.args;
        const vp = k.vnodes.get(a.file);
        if (!vp) throw new StepError(`no file '${a.file}' (create it first with a \`file:\` step)`);
        const v = vnode_read(k, vp, ubc_getobject(k, vp), Number(a.offset), a.size);
        if (v === 'shortage') return { ...r, outcome: 'error', errno: 'ENOMEM', ret: hex(-1), message: 'pread() failed: no free page' };
        const n = Math.max(0, Math.min(a.size, vp.size - Number(a.offset)));
        return { ...r, ret: hex(n), value: hex(v === 'eof' ? 0n : v) };
      }
      default:
        throw new StepError(`'${step.op}' is not modelled on xnu-11417`);
    }
  }

  /** A user-mode access, retried after each fault the kernel resolves (the CPU re-executes it). */
  private access(t: Task, r: StepResult, va: bigint, access: 'read' | 'write' | 'exec', size: number, value: bigint | undefined): StepResult {
    const k = this.k;
    const m = k.m;
    let faults: FaultRecord[] | null = null;
    const f0 = t.faults;
    const p0 = t.pageins;
    const rip = access === 'exec' ? m.cpu.rip : 0n;
    if (access === 'exec') m.cpu.rip = va;
    const req = { va, access, size, value };
    let out: StepResult | null = null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !out; attempt++) {
      const res = m.access(req);
      if (res.kind === 'ok') {
        out = withFields(r, { value: access === 'exec' ? undefined : hex(res.value), pa: hex(res.pa), tlb: res.tlb });
        break;
      }
      for (const f of m.takeRaised()) (faults ??= []).push({ vector: f.vector, error_code: f.errorCode ?? 0, cr2: hex(f.cr2 ?? m.cpu.cr2) });
      if (m.shutdown) out = { ...r, outcome: 'killed', message: 'triple fault: the processor shut down' };
      else {
        k.trap = { killed: false, handled: false, recovered: false };
        const how = idt64_trap_entry(k);
        if (how === 'panic') out = { ...r, outcome: 'killed', message: k.trap.panic ?? 'kernel panic' };
        else if (k.trap.killed || k.trap.handled) out = this.signalResult(t, r);
      }
    }
    out ??= { ...r, outcome: 'error', message: `the access still faulted after ${MAX_ATTEMPTS} attempts (vm_fault returned KERN_ABORTED: no free page will come; raise machine.ram)` };
    if (access === 'exec' && !t.proc.exited) m.cpu.rip = rip;
    if (faults) out.faults = faults;
    out.minflt = t.faults - f0 - (t.pageins - p0);
    out.majflt = t.pageins - p0;
    if (!t.proc.exited && m.isCanonical(va)) out.page = pageRecord(m, va, this.pageWalk);
    return out;
  }

  private signalResult(t: Task, r: StepResult): StepResult {
    const tr = this.k.trap;
    const out: StepResult = { ...r, outcome: 'signal' };
    if (tr.mach_exception) out.mach_exception = { type: tr.mach_exception.type, code: tr.mach_exception.code, subcode: hex(tr.mach_exception.subcode) };
    if (tr.signal) {
      out.signal = { signo: tr.signal.signo, name: signalName(tr.signal.signo), code: tr.signal.code, addr: hex(tr.signal.addr), trapno: tr.signal.trapno, err: tr.signal.err };
      out.message = tr.signal.signo === SIGKILL
        ? `${t.name}[${t.proc.p_pid}] killed by SIGKILL (memorystatus: vm-pageshortage)`
        : tr.killed
          ? `${t.name}[${t.proc.p_pid}] killed by ${signalName(tr.signal.signo)} (core dumped); EXC_BAD_ACCESS (${excCodeName(tr.signal.trapno, tr.mach_exception?.code ?? 0)})`
          : `${signalName(tr.signal.signo)} handled: the handler skips the access`;
      if (tr.signal.signo === SIGKILL) out.outcome = 'killed';
    }
    return out;
  }
}

/** The code of EXC_BAD_ACCESS: a kern_return_t for a #PF, EXC_I386_GPFLT for a #GP. */
function excCodeName(trapno: number, code: number): string {
  return trapno === 13 ? 'EXC_I386_GPFLT' : krName(code);
}

function sys(r: StepResult, res: SysResult, name: string): StepResult {
  return res.error === 0 ? { ...r, ret: hex(res.ret) } : { ...r, outcome: 'error', errno: res.error, ret: hex(-1), message: `${name}() failed: ${res.error}` };
}

/** A Mach call's kern_return_t: the errno field carries its name (KERN_NO_SPACE, …). */
function kr(r: StepResult, name: string, code: number, addr?: bigint): StepResult {
  if (code === 0) return addr === undefined ? { ...r, ret: '0x0' } : { ...r, ret: hex(addr) };
  return { ...r, outcome: 'error', errno: krName(code), ret: hex(code), message: `${name}() = ${krName(code)}` };
}

/** The leaf mapping of `va` in the current (user) page table (walked into `scratch`, read at once). */
function pageRecord(m: Machine, va: bigint, scratch: WalkOut): PageRecord {
  const w = m.previewWalk(va, scratch);
  if (w.status !== W_OK) return { present: false, writable: false, user: false, nx: false, pfn: '0x0', zero_page: false, accessed: false, dirty: false };
  const lo = w.lo[w.level]!;
  return {
    present: true, writable: (w.rights & R_RW) !== 0, user: (w.rights & R_US) !== 0, nx: (w.rights & R_XD) !== 0, pfn: hex(w.pfn),
    zero_page: false, accessed: (lo & A) !== 0, dirty: (lo & D) !== 0,
  };
}
