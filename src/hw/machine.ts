// One x86-64 logical processor with its physical memory, paging unit and TLB. Software (a kernel
// model, or the bare lab) reaches it only as real software does: physical memory it writes
// itself, register writes (CR0/CR3/CR4/EFER/PKRU), INVLPG/INVPCID, the descriptor tables it
// installs, and linear-memory accesses that translate through paging and may raise exceptions.
// Exceptions are delivered through the IDT (./delivery.ts). No global state: two machines run
// side by side in one process.

import { hex, nullSink, type AccessKind, type PageSize, type TraceSink } from '../trace/events.js';
import { deriveCtl, withCr3, type PagingCtl } from './ctl.js';
import { deliverException } from './delivery.js';
import { GP, PF, SS, vectorMnemonic } from './exceptions.js';
import {
  ACC_EXEC, ACC_READ, ACC_WRITE, LEVEL_NAMES, R_RW, R_US, R_XD, SZ_2M, W_NOT_PRESENT, W_OK,
  WalkOut, checkRights, commitWalk, walk, walkErrorCode,
} from './paging.js';
import { PhysMem } from './physmem.js';
import { A, D, pteFlagString } from './pte.js';
import { CR3_NOFLUSH, CR3_PCID_MASK, CR4_PCIDE, CR4_PGE, CpuState, RFLAGS_AC, joinHalves, storeHalves } from './regs.js';
import { DEFAULT_TLB, T_DIRTY, T_GLOBAL, Tlb, type TlbGeometry } from './tlb.js';
import { faultReason } from './why.js';

export interface MachineConfig {
  /** CPUID MAXPHYADDR (default 46). */
  maxPhyAddr?: number;
  /** TLB geometry; `null` turns the TLB off (every access walks). */
  tlb?: TlbGeometry | null;
  /** CPUID 1-GByte pages support (default true). */
  page1g?: boolean;
}

export interface AccessRequest {
  va: bigint;
  access: AccessKind;
  /** Bytes: 1, 2, 4 or 8 (default 1). */
  size?: number;
  /** For writes. */
  value?: bigint;
  /** An implicit supervisor-mode access (IDT, GDT, TSS, stack during delivery), §4.6. */
  implicit?: boolean;
  /** A stack access: a non-canonical address raises #SS instead of #GP (§6.14.1). */
  stack?: boolean;
  /** Label for traces ("push RIP", "IDT[14]"). */
  what?: string;
}

export interface WordsOptions {
  implicit?: boolean;
  stack?: boolean;
  /** Trace labels, one per word (used only with tracing on). */
  what?: readonly string[];
}

export interface WordsResult {
  /** Accesses completed before the fault (all of them when `fault` is null). */
  done: number;
  fault: Fault | null;
}

/** A raised exception, before delivery. */
export interface Fault {
  vector: number;
  errorCode: number | undefined;
  cr2?: bigint;
}

export type AccessResult =
  | { kind: 'ok'; pa: bigint; value: bigint; tlb: 'hit' | 'miss' }
  | { kind: 'fault'; fault: Fault; tlb: 'hit' | 'miss' | 'none' };

const TWO52 = 2 ** 52;
const TWO64 = 1n << 64n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const RFLAGS_MASK = 0x3fffffn; // bits 63:22 of RFLAGS are reserved (read as 0)
const RFLAGS_MASK_N = 0x3fffff;
const RFLAGS_AC_N = Number(RFLAGS_AC);
const TWO32 = 2 ** 32;
const ACC_CODE: Record<AccessKind, number> = { read: ACC_READ, write: ACC_WRITE, exec: ACC_EXEC };
const SIZE_NAME: PageSize[] = ['4k', '2m', '1g'];

export class Machine {
  readonly mem: PhysMem;
  readonly cpu = new CpuState();
  readonly tlb: Tlb | null;
  readonly page1g: boolean;
  trace: TraceSink;
  ctl: PagingCtl;
  /** Set by a triple fault: the processor stops (§6.15, interrupt 8). */
  shutdown = false;
  /** Exceptions raised since `takeRaised()`, nested ones included, in order. */
  private raisedLog: Fault[] = [];
  /** Page walks performed (TLB misses and dirty-flag assists). */
  walks = 0;
  /** After `translate` returns -1: the #PF error code. */
  pfError = 0;
  /** After `translate`: whether the TLB answered. */
  lastHit = false;
  private readonly w = new WalkOut();
  /**
   * The first page of a page-crossing access is walked into `wFirst` and committed (A/D, TLB
   * fill) only once the second page has translated too: a faulting access sets no A/D flag.
   */
  private deferFirst = false;
  private deferredVpn = -1;
  private readonly wFirst = new WalkOut();
  /** Rights tables by control-flag combination (see deriveCtl). */
  private readonly rightsTables = new Map<number, Uint8Array>();
  /** The derived state for each CR3 value seen since the last syncCtl (see setReg). */
  private readonly ctlByCr3 = new Map<bigint, PagingCtl>();
  /** The two most recent CR3 values and their derived state, in front of ctlByCr3. */
  private readonly lastCr3: [bigint, bigint] = [-1n, -1n];
  private readonly lastCtl: [PagingCtl | undefined, PagingCtl | undefined] = [undefined, undefined];
  /** Scratch quadwords (as halves) for exception delivery's reads and pushes, and for IRETQ's frame (hw/delivery.ts). */
  readonly deliveryScratch = new Uint32Array(16);
  readonly iretScratch = new Uint32Array(10);
  /** Scratch halves for the bigint form of tryWords. */
  private readonly scratch = new Uint32Array(64);
  /** The fault of the last number-form access (tryWordsAt) that did not complete. */
  lastFault: Fault | null = null;

  constructor(config: MachineConfig = {}, trace: TraceSink = nullSink) {
    this.mem = new PhysMem(config.maxPhyAddr ?? 46);
    this.tlb = config.tlb === null ? null : new Tlb(config.tlb ?? DEFAULT_TLB);
    this.page1g = config.page1g ?? true;
    this.trace = trace;
    this.ctl = deriveCtl(this.cpu, this.mem.maxPhyAddr, this.page1g, this.rightsTables);
  }

  /** Rebuild the derived control state after a register write. */
  syncCtl(): void {
    this.ctl = deriveCtl(this.cpu, this.mem.maxPhyAddr, this.page1g, this.rightsTables);
    this.ctlByCr3.clear();
    this.lastCr3[0] = this.lastCr3[1] = -1n;
    this.lastCtl[0] = this.lastCtl[1] = undefined;
  }

  // --- translation (the hot path) ------------------------------------------------------------

  /**
   * Translate page `vpn` (linear address >> 12) for an access of kind `acc` (ACC_*). `user` is a
   * user-mode access (CPL 3, not implicit). Returns the frame number of the 4 KiB frame (a small
   * integer, so the hot path never boxes a double), or -1 with the #PF error code in `pfError`.
   * Sets A/D flags and fills the TLB on success.
   */
  translate(vpn: number, acc: number, user: boolean, implicit: boolean): number {
    const tlb = this.tlb;
    if (tlb !== null) {
      // The 4 KiB bank inline (the common case), then the large-page banks.
      const ctl = this.ctl;
      const b = tlb.b4;
      let i = (vpn & b.mask) * b.ways;
      const end = i + b.ways;
      for (; i < end; i++) if (b.tag[i] === vpn && (b.pcid[i] === ctl.pcid || (b.info[i]! & T_GLOBAL) !== 0)) break;
      if (i < end) {
        const info = b.info[i]!;
        let ec = ctl.rightsEc[(info & 7) | (acc << 3) | (user ? 32 : 0) | (implicit ? 64 : 0)]!;
        if (ctl.pke) ec = checkRights(ctl, info & 7, (info >>> 4) & 15, acc, user, implicit);
        if (ec === 0 && (acc !== ACC_WRITE || info & T_DIRTY)) {
          tlb.hits++;
          this.lastHit = true;
          if (this.trace.enabled) this.traceTlbHit(vpn, b.frame[i]!, i);
          return b.frame[i]!;
        }
      }
      return this.translateSlow(vpn, acc, user, implicit, i < end ? i : tlb.lookupLarge(vpn, ctl.pcid));
    }
    this.lastHit = false;
    return this.walkAndFill(vpn, acc, user, implicit);
  }

  /** A TLB miss, a large-page hit, a denied hit, or a write through a clean entry. */
  private translateSlow(vpn: number, acc: number, user: boolean, implicit: boolean, h: number): number {
    const tlb = this.tlb!;
    const ctl = this.ctl;
    if (h >= 0) {
      const bank = tlb.bankOf(h);
      const i = h & 0xffffff;
      const info = bank.info[i]!;
      const ec = checkRights(ctl, info & 7, (info >>> 4) & 15, acc, user, implicit);
      if (ec !== 0) return this.tlbFault(vpn, ec, info, acc, user, implicit);
      if (acc !== ACC_WRITE || info & T_DIRTY) {
        tlb.hits++;
        this.lastHit = true;
        const frame = bank.frame[i]!;
        if (this.trace.enabled) this.traceTlbHit(vpn, frame, h);
        return h < 0x1000000 ? frame : frame + ((vpn >>> 0) & (h < 0x2000000 ? 511 : 262143));
      }
      // A write through a clean entry: walk again so the D flag gets set (§4.8).
    }
    tlb.misses++;
    if (this.trace.enabled) this.trace.emit({ ev: 'tlb', what: 'miss', va: hex(vpn * 4096), pcid: ctl.pcid });
    this.lastHit = false;
    return this.walkAndFill(vpn, acc, user, implicit);
  }

  private walkAndFill(vpn: number, acc: number, user: boolean, implicit: boolean): number {
    const defer = this.deferFirst;
    const w = defer ? this.wFirst : this.w;
    const ctl = this.ctl;
    this.walks++;
    const status = walk(this.mem, ctl, vpn, w);
    const traced = this.trace.enabled;
    if (traced) this.traceWalk(w);
    if (status !== W_OK) {
      this.pfError = walkErrorCode(ctl, status, acc, user);
      if (this.trace.enabled) {
        const reason = status === W_NOT_PRESENT ? 'not-present' : 'reserved-bit';
        this.trace.emit({ ev: 'walk_fault', level: LEVEL_NAMES[w.level]!, reason, errorCode: this.pfError });
      }
      return this.invalidateOnFault(vpn, -1);
    }
    const ec = ctl.pke
      ? checkRights(ctl, w.rights, w.pkey, acc, user, implicit)
      : ctl.rightsEc[w.rights | (acc << 3) | (user ? 32 : 0) | (implicit ? 64 : 0)]!;
    if (ec !== 0) {
      this.pfError = ec;
      if (this.trace.enabled) {
        const reason = faultReason(ctl, w.rights, w.pkey, acc, user, implicit);
        this.trace.emit({ ev: 'walk_fault', level: LEVEL_NAMES[w.level]!, reason, errorCode: ec });
      }
      return this.invalidateOnFault(vpn, -1);
    }
    if (defer) {
      this.deferredVpn = vpn;
      return w.size === 0 ? w.pfn : w.pfn + ((vpn >>> 0) & (w.size === SZ_2M ? 511 : 262143));
    }
    // Common case: a 4 KiB page whose flags are already set, no trace, no TLB to fill.
    if (!traced && this.tlb === null && w.size === 0 && w.andLo & A && (acc !== ACC_WRITE || w.lo[4]! & D)) return w.pfn;
    return this.commitAndFill(w, vpn, acc);
  }

  /** The deferred first page of a crossing access, once the second page translated. */
  private commitDeferred(acc: number): void {
    const w = this.wFirst;
    // The second page's commit may have set A in entries the two walks share: re-read them.
    for (let l = w.first; l <= w.level; l++) w.lo[l] = this.mem.read32(w.entryPa(l)) | 0;
    this.commitAndFill(w, this.deferredVpn, acc);
  }

  /** §4.8: set A/D for a successful walk, then cache the translation. Returns the frame number. */
  private commitAndFill(w: WalkOut, vpn: number, acc: number): number {
    const ctl = this.ctl;
    const before = this.trace.enabled ? Array.from(w.lo) : null;
    commitWalk(this.mem, w, acc === ACC_WRITE);
    const pfn = w.size === 0 ? w.pfn : w.pfn + ((vpn >>> 0) & (w.size === SZ_2M ? 511 : 262143));
    if (before) this.traceCommit(w, before, pfn * 4096);
    if (this.tlb !== null) {
      const leafLo = w.lo[w.level]!;
      const global = ctl.pge && (leafLo & 0x100) !== 0 ? T_GLOBAL : 0;
      const dirty = leafLo & 0x40 ? T_DIRTY : 0;
      this.tlb.fill(vpn, w.size, ctl.pcid, w.pfn, w.rights | (w.pkey << 4) | global | dirty);
      if (this.trace.enabled) {
        this.trace.emit({ ev: 'tlb', what: 'fill', va: hex(vpn * 4096), pcid: ctl.pcid, pageSize: SIZE_NAME[w.size]!, pa: hex(pfn * 4096), global: global !== 0 });
      }
    }
    return pfn;
  }

  /** A TLB hit whose cached rights deny the access: fault without walking (§4.10.4.3), drop it. */
  private tlbFault(vpn: number, ec: number, info: number, acc: number, user: boolean, implicit: boolean): number {
    this.pfError = ec;
    this.lastHit = true;
    if (this.trace.enabled) {
      const reason = faultReason(this.ctl, info & 7, (info >>> 4) & 15, acc, user, implicit);
      this.trace.emit({ ev: 'tlb', what: 'hit', va: hex(vpn * 4096), pcid: this.ctl.pcid });
      this.trace.emit({ ev: 'walk_fault', level: 'pt', reason, errorCode: ec });
    }
    return this.invalidateOnFault(vpn, -1);
  }

  /** §4.10.4.1: a page fault invalidates the TLB entries for the faulting page. */
  private invalidateOnFault(vpn: number, ret: number): number {
    if (this.tlb === null) return ret;
    const n = this.tlb.invalidatePage(vpn, this.ctl.pcid, true);
    if (n > 0 && this.trace.enabled) {
      this.trace.emit({ ev: 'tlb_flush', cause: 'page-fault', va: hex(vpn * 4096), pcid: this.ctl.pcid, entries: n });
    }
    return ret;
  }

  // --- linear-memory accesses ------------------------------------------------------------------

  /** Whether `va` is canonical for the current paging mode (§3.3.7.1, §4.5). */
  isCanonical(va: bigint): boolean {
    return this.canonicalHi(Number(BigInt.asUintN(64, va) >> 32n));
  }

  /** The canonical test on bits 63:32 of an address: bits 63:47 (63:56 with LA57) all equal. */
  canonicalHi(hi: number): boolean {
    const top = this.ctl.la57 ? hi >>> 24 : hi >>> 15;
    return top === 0 || top === (this.ctl.la57 ? 0xff : 0x1ffff);
  }

  /**
   * Perform an access without delivering a fault: translate every page it touches (a fault on the
   * second page reports that page's first byte, §4.7), then read or write physical memory.
   */
  tryAccess(req: AccessRequest): AccessResult {
    const small = req.va >= 0n && req.va <= MAX_SAFE; // most user addresses: split through a double, no bigint
    const va = small ? req.va : BigInt.asUintN(64, req.va);
    const size = req.size ?? 1;
    const acc = ACC_CODE[req.access];
    const implicit = req.implicit ?? false;
    const user = this.cpu.cpl === 3 && !implicit;
    if (this.trace.enabled) {
      this.trace.emit({ ev: 'access', va: hex(va), access: req.access, size, mode: user ? 'user' : 'supervisor', implicit, cpl: this.cpu.cpl, what: req.what });
    }
    let hi: number;
    let lo: number;
    if (small) {
      const n = Number(va);
      hi = Math.floor(n / TWO32);
      lo = n - hi * TWO32;
    } else {
      hi = Number(va >> 32n);
      lo = Number(va & 0xffffffffn);
    }
    const off = lo & 0xfff;
    const first = Math.min(size, 4096 - off);
    // The last byte can leave the canonical range only by crossing into the next page.
    if (!this.canonicalHi(hi) || (first < size && !this.isCanonical(va + BigInt(size - 1)))) {
      return { kind: 'fault', fault: { vector: req.stack ? SS : GP, errorCode: 0 }, tlb: 'none' };
    }
    const vpn = hi * 1048576 + (lo >>> 12);
    // A page-crossing access decides both pages before committing either (§4.8 as modelled: a
    // faulting access sets no A/D flag), so a walk of the first page is committed after the second.
    this.deferFirst = first < size;
    this.deferredVpn = -1;
    const pfn0 = this.translate(vpn, acc, user, implicit);
    this.deferFirst = false;
    const tlb = this.lastHit ? 'hit' : 'miss';
    if (pfn0 < 0) return { kind: 'fault', fault: { vector: PF, errorCode: this.pfError, cr2: va }, tlb };
    let pa1 = 0;
    if (first < size) {
      const pfn1 = this.translate((vpn + 1) % TWO52, acc, user, implicit);
      const page2 = (va | 0xfffn) + 1n;
      pa1 = pfn1 * 4096;
      if (pfn1 < 0) return { kind: 'fault', fault: { vector: PF, errorCode: this.pfError, cr2: BigInt.asUintN(64, page2) }, tlb };
      if (this.deferredVpn >= 0) this.commitDeferred(acc);
    }
    const pa0 = pfn0 * 4096;
    const value = this.moveData(req, pa0 + off, first, pa1, size);
    if (this.trace.enabled) this.trace.emit({ ev: 'access_done', va: hex(va), pa: hex(pa0 + off), value: hex(value) });
    return { kind: 'ok', pa: BigInt(pa0 + off), value, tlb };
  }

  /**
   * `count` aligned 8-byte accesses, the i-th at `va + i * stride` (stride 8 ascends, -8 descends as
   * a run of pushes does), exactly as that many separate accesses: in order, stopping at the first
   * fault (the earlier ones done). A write takes `words[i]`; a read fills it. The bigint form of
   * `tryWordsAt`.
   */
  tryWords(va: bigint, stride: 8 | -8, access: 'read' | 'write', words: bigint[], count: number, opts: WordsOptions = {}): WordsResult {
    const write = access === 'write';
    const buf = count <= 32 ? this.scratch : new Uint32Array(2 * count);
    if (write) for (let i = 0; i < count; i++) storeHalves(buf, 2 * i, words[i]!);
    const a = BigInt.asUintN(64, va);
    const done = this.tryWordsAt(Number(a >> 32n), Number(a & 0xffffffffn), stride, write, buf, count, opts.implicit ?? false, opts.stack ?? false, opts.what);
    if (!write) for (let i = 0; i < done; i++) words[i] = joinHalves(buf[2 * i]!, buf[2 * i + 1]!);
    return { done, fault: done < count ? this.lastFault : null };
  }

  /**
   * The number form of `tryWords`, for the entry code and exception delivery: the address is
   * `hi`:`lo` (its 32-bit halves) and word i is `buf[2i]` (bits 31:0) and `buf[2i+1]` (bits 63:32).
   * Returns how many accesses completed; when fewer than `count`, `lastFault` holds the fault.
   * The address must be 4-byte aligned for the fast path (TSS.RSP0 sits at offset 4). `lo` may be
   * an address's low half plus an offset (|lo| < 2^52): the carry or borrow goes into `hi`. `at`:
   * the words start at word `at` of `buf` (no subarray to allocate).
   * Each page is translated once and later accesses to it count as the TLB hits they are, so the
   * counters, A/D flags and faults are those of the separate accesses. With tracing on, or no
   * TLB, or an unaligned address, it is literally a loop of `tryAccess` (same events).
   */
  tryWordsAt(hi: number, lo: number, stride: 8 | -8, write: boolean, buf: Uint32Array, count: number, implicit: boolean, stack: boolean, what?: readonly string[], at = 0): number {
    if (lo < 0 || lo >= TWO32 || hi < 0 || hi >= TWO32) {
      // An address plus an offset: carry into (or borrow from) the high half, mod 2^64.
      const c = Math.floor(lo / TWO32);
      lo -= c * TWO32;
      hi = (hi + c) >>> 0;
    }
    if (this.trace.enabled || this.tlb === null || (lo & 3) !== 0) return this.wordsAtSlow(hi, lo, stride, write, buf, count, implicit, stack, what, at);
    const tlb = this.tlb;
    const acc = write ? ACC_WRITE : ACC_READ;
    const user = this.cpu.cpl === 3 && !implicit;
    const mem = this.mem;
    let i = 0;
    while (i < count) {
      if (!this.canonicalHi(hi)) {
        this.lastFault = { vector: stack ? SS : GP, errorCode: 0 };
        return i;
      }
      const off = lo & 0xfff;
      let n: number;
      if (off > 4088) {
        // A 4-byte aligned word that crosses into the next page: the general access (§4.7 order).
        if (this.wordsAtSlow(hi, lo, stride, write, buf, 1, implicit, stack, undefined, at + i) < 1) return i;
        n = 1;
      } else {
        const pfn = this.translate(hi * 1048576 + (lo >>> 12), acc, user, implicit);
        if (pfn < 0) {
          this.lastFault = { vector: PF, errorCode: this.pfError, cr2: joinHalves(lo, hi) };
          return i;
        }
        // The words of the run in this page: the first translated, the rest hit the entry it filled.
        n = Math.min(count - i, stride > 0 ? (4096 - off) >>> 3 : (off >>> 3) + 1);
        if (n > 1) {
          tlb.hits += n - 1;
          this.lastHit = true;
        }
        if (write) mem.writeRun(pfn, off, stride, buf, 2 * (at + i), n);
        else mem.readRun(pfn, off, stride, buf, 2 * (at + i), n);
      }
      i += n;
      lo += stride * n;
      if (lo < 0) {
        lo += TWO32;
        hi = hi === 0 ? 0xffffffff : hi - 1;
      } else if (lo >= TWO32) {
        lo -= TWO32;
        hi = hi === 0xffffffff ? 0 : hi + 1;
      }
    }
    return count;
  }

  private wordsAtSlow(hi: number, lo: number, stride: number, write: boolean, buf: Uint32Array, count: number, implicit: boolean, stack: boolean, what: readonly string[] | undefined, at: number): number {
    const va = joinHalves(lo, hi);
    for (let i = 0; i < count; i++) {
      const value = write ? joinHalves(buf[2 * (at + i)]!, buf[2 * (at + i) + 1]!) : undefined;
      const r = this.tryAccess({ va: BigInt.asUintN(64, va + BigInt(i * stride)), access: write ? 'write' : 'read', size: 8, value, implicit, stack, what: what?.[i] });
      if (r.kind === 'fault') {
        this.lastFault = r.fault;
        return i;
      }
      if (!write) storeHalves(buf, 2 * (at + i), r.value);
    }
    return count;
  }

  private moveData(req: AccessRequest, pa: number, first: number, pa1: number, size: number): bigint {
    const mem = this.mem;
    if (req.access === 'write') {
      const v = BigInt.asUintN(size * 8, req.value ?? 0n);
      if (first === size) mem.write(pa, size, v);
      else for (let i = 0; i < size; i++) mem.write8(i < first ? pa + i : pa1 + i - first, Number((v >> BigInt(8 * i)) & 0xffn));
      return v;
    }
    if (first === size) return mem.read(pa, size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(mem.read8(i < first ? pa + i : pa1 + i - first));
    return v;
  }

  /** Perform an access; a fault is raised and delivered through the IDT (the CPU is then at the handler). */
  access(req: AccessRequest): AccessResult {
    if (this.shutdown) throw new Error('access on a machine in shutdown (triple fault): reset it first');
    const r = this.tryAccess(req);
    if (r.kind === 'fault') this.raise(r.fault);
    return r;
  }

  /** Raise an exception: set CR2 for #PF, record it, and deliver it (§6.12). */
  raise(f: Fault): void {
    this.noteRaised(f, f.vector === PF ? 'page fault' : f.vector === GP ? 'general protection' : vectorMnemonic(f.vector));
    deliverException(this, f);
  }

  /** The exceptions raised since the last call, then forget them. */
  takeRaised(): Fault[] {
    const r = this.raisedLog;
    this.raisedLog = [];
    return r;
  }

  /**
   * Record a raised exception: CR2 for a #PF, the log `takeRaised` returns, and an `exception`
   * trace event with `reason` (null: no event, e.g. the #DF that a `double_fault` event announces).
   * Used for the first exception and for those raised while delivering it (delivery.ts).
   */
  noteRaised(f: Fault, reason: string | null): void {
    if (f.vector === PF && f.cr2 !== undefined) this.setCr2(f.cr2);
    this.raisedLog.push(f);
    if (reason !== null && this.trace.enabled) {
      this.trace.emit({
        ev: 'exception', vector: f.vector, name: vectorMnemonic(f.vector), errorCode: f.errorCode,
        cr2: f.vector === PF && f.cr2 !== undefined ? hex(f.cr2) : undefined, reason,
      });
    }
  }

  /**
   * Run `fn` with the trace off: a kernel's own run of loads and stores (the entry code's pushes,
   * a struct copy), which it reports with one event of its own instead of one per access.
   */
  untraced<T>(fn: () => T): T {
    const t = this.trace;
    if (!t.enabled) return fn();
    this.trace = nullSink;
    try {
      return fn();
    } finally {
      this.trace = t;
    }
  }

  // --- registers and privileged instructions ---------------------------------------------------

  setCr2(v: bigint): void {
    this.setReg('cr2', BigInt.asUintN(64, v));
  }

  /** MOV to CR0 (WP changes need no flush: rights are decided at each access). */
  setCr0(v: bigint): void {
    this.setReg('cr0', v);
  }

  /** MOV to CR4 (§4.10.4.1: toggling PGE flushes everything; clearing PCIDE flushes everything). */
  setCr4(v: bigint): void {
    const old = this.cpu.cr4;
    if ((v & CR4_PCIDE) !== 0n && (old & CR4_PCIDE) === 0n && (this.cpu.cr3 & CR3_PCID_MASK) !== 0n) {
      throw new RangeError('setting CR4.PCIDE needs CR3[11:0] = 0 (#GP, SDM §4.10.1)');
    }
    this.setReg('cr4', v);
    const pgeFlip = ((old ^ v) & CR4_PGE) !== 0n;
    const pcideOff = (old & CR4_PCIDE) !== 0n && (v & CR4_PCIDE) === 0n;
    if (pgeFlip || pcideOff) this.flushAll('cr4', false);
  }

  setEfer(v: bigint): void {
    this.setReg('efer', v);
  }

  setRflags(v: bigint): void {
    this.setFlags(Number(v & RFLAGS_MASK));
  }

  /** Write RFLAGS as a number (bits 21:0; the rest are reserved). Only AC matters to paging (SMAP). */
  setFlags(v: number): void {
    const old = this.cpu.flags;
    const n = v & RFLAGS_MASK_N;
    this.cpu.flags = n;
    if ((old ^ n) & RFLAGS_AC_N) this.syncCtl();
    if (this.trace.enabled && old !== n) this.trace.emit({ ev: 'reg', name: 'rflags', old: hex(old), value: hex(n) });
  }

  /** WRPKRU. */
  setPkru(v: number): void {
    const old = this.cpu.pkru;
    this.cpu.pkru = v >>> 0;
    this.syncCtl();
    if (this.trace.enabled) this.trace.emit({ ev: 'reg', name: 'pkru', old: hex(old), value: hex(v >>> 0) });
  }

  /**
   * MOV to CR3 (§4.10.4.1): without PCIDs, flush all non-global entries; with PCIDs, flush the
   * new PCID's non-global entries unless bit 63 is set (bit 63 is not stored).
   */
  movToCr3(v: bigint): void {
    const u = v >= 0n && v < TWO64 ? v : BigInt.asUintN(64, v);
    const bit63 = u >= CR3_NOFLUSH; // bit 63 set (no bigint arithmetic for the test)
    const noflush = this.ctl.pcide && bit63;
    this.setReg('cr3', bit63 ? u - CR3_NOFLUSH : u);
    if (this.tlb === null || noflush) return;
    const pcid = this.ctl.pcide ? this.ctl.pcid : -1;
    const n = this.tlb.invalidateContext(pcid, true);
    if (this.trace.enabled) this.trace.emit({ ev: 'tlb_flush', cause: 'mov-cr3', pcid: this.ctl.pcid, entries: n, keepGlobal: true });
  }

  /** INVLPG: entries for the page, current PCID and global (§4.10.4.1). */
  invlpg(va: bigint): void {
    if (this.tlb === null || !this.isCanonical(va)) return; // a non-canonical INVLPG is a no-op
    const vpn = Number(BigInt.asUintN(64, va) >> 12n);
    const n = this.tlb.invalidatePage(vpn, this.ctl.pcid, true);
    if (this.trace.enabled) this.trace.emit({ ev: 'tlb_flush', cause: 'invlpg', va: hex(va), pcid: this.ctl.pcid, entries: n });
  }

  /** INVPCID types 0-3 (SDM Vol. 2, INVPCID). */
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va = 0n): void {
    if (this.tlb === null) return;
    let n: number;
    if (type === 0) n = this.tlb.invalidatePage(Number(BigInt.asUintN(64, va) >> 12n), pcid, false);
    else if (type === 1) n = this.tlb.invalidateContext(pcid, true);
    else n = this.tlb.invalidateContext(-1, type === 3);
    if (this.trace.enabled) {
      this.trace.emit({ ev: 'tlb_flush', cause: 'invpcid', pcid: type < 2 ? pcid : undefined, va: type === 0 ? hex(va) : undefined, entries: n, keepGlobal: type !== 2 });
    }
  }

  private flushAll(cause: 'cr4', keepGlobal: boolean): void {
    if (this.tlb === null) return;
    const n = this.tlb.invalidateContext(-1, keepGlobal);
    if (this.trace.enabled) this.trace.emit({ ev: 'tlb_flush', cause, entries: n, keepGlobal });
  }

  private setReg(name: 'cr0' | 'cr2' | 'cr3' | 'cr4' | 'efer', v: bigint): void {
    const old = this.cpu[name];
    this.cpu[name] = v >= 0n && v < TWO64 ? v : BigInt.asUintN(64, v);
    // CR3 changes only the root and the PCID (a kernel with PTI writes it twice per fault).
    if (name === 'cr3') {
      // A kernel with PTI flips between a few CR3 values: keep the derived state of each until
      // another control register changes (syncCtl).
      const cr3 = this.cpu.cr3;
      // The last two values first (=== on bigints compares values without hashing them).
      let ctl = cr3 === this.lastCr3[0] ? this.lastCtl[0] : cr3 === this.lastCr3[1] ? this.lastCtl[1] : this.ctlByCr3.get(cr3);
      if (ctl === undefined) {
        ctl = withCr3(this.ctl, cr3, this.mem.maxPhyAddr);
        if (this.ctlByCr3.size >= 64) this.ctlByCr3.clear();
        this.ctlByCr3.set(cr3, ctl);
      }
      if (cr3 !== this.lastCr3[0]) {
        this.lastCr3[1] = this.lastCr3[0];
        this.lastCtl[1] = this.lastCtl[0];
        this.lastCr3[0] = cr3;
        this.lastCtl[0] = ctl;
      }
      this.ctl = ctl;
    }
    else if (name !== 'cr2') this.syncCtl();
    if (this.trace.enabled && old !== this.cpu[name]) this.trace.emit({ ev: 'reg', name, old: hex(old), value: hex(this.cpu[name]) });
  }

  // --- trace helpers (only called with tracing on) ----------------------------------------------

  private traceTlbHit(vpn: number, pfn: number, h: number): void {
    this.trace.emit({ ev: 'tlb', what: 'hit', va: hex(vpn * 4096), pcid: this.ctl.pcid, pageSize: SIZE_NAME[Math.floor(h / 0x1000000)]!, pa: hex(pfn * 4096) });
  }

  private traceWalk(w: WalkOut): void {
    for (let l = w.first; l <= w.level; l++) {
      const level = LEVEL_NAMES[l]!;
      const leaf = l === w.level && w.status === W_OK;
      this.trace.emit({
        ev: 'walk', level, index: w.indexOf(l), entryPa: hex(w.entryPa(l)), entry: hex(joinHalves(w.lo[l]!, w.hi[l]!)),
        flags: pteFlagString(w.lo[l]!, w.hi[l]!, level), leaf,
      });
    }
  }

  private traceCommit(w: WalkOut, before: number[], pa: number): void {
    for (let l = w.first; l <= w.level; l++) {
      const changed = (w.lo[l]! ^ before[l]!) & 0x60;
      if (!changed) continue;
      const bits = changed === 0x60 ? 'AD' : changed === 0x20 ? 'A' : 'D';
      this.trace.emit({ ev: 'ad_set', level: LEVEL_NAMES[l]!, entryPa: hex(w.entryPa(l)), bits, entry: hex(joinHalves(w.lo[l]!, w.hi[l]!)) });
    }
    const r = w.rights;
    const rights = `${r & R_US ? 'user' : 'supervisor'} ${r & R_RW ? 'rw' : 'ro'}${r & R_XD ? ' nx' : ''}`;
    this.trace.emit({ ev: 'walk_ok', pa: hex(pa), pageSize: SIZE_NAME[w.size]!, rights, pkey: w.pkey });
  }

  /** A copy of the walk for `va`, without side effects (for previews and page dumps), into `out` if given. */
  previewWalk(va: bigint, out: WalkOut = new WalkOut()): WalkOut {
    walk(this.mem, this.ctl, Number(BigInt.asUintN(64, va) >> 12n), out);
    return out;
  }
}

