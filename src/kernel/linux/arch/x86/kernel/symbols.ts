// The kernel's symbol table (kallsyms, kernel/kallsyms.c, simplified): each entry symbol's address
// in kernel text, and the model function that runs when the CPU arrives there. A delivered
// exception leaves RIP at the gate's offset; `runAt(rip)` finds the symbol and runs its model,
// the way the CPU would fetch the stub's first instruction. Text outside the table is data only.

import { R_RIP } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import type { X86Kernel } from '../include/asm/processor.js';

/** The model of the code at a symbol: runs with the CPU at that address. */
export type EntryCode = (k: X86Kernel) => void;

export interface Symbol {
  name: string;
  addr: bigint;
  /** `addr` as 32-bit halves (the entry code pushes return addresses and loads RIP from them). */
  lo: number;
  hi: number;
  code: EntryCode | null;
}

export class SymbolTable {
  private readonly byName = new Map<string, Symbol>();
  /** Keyed by the address's low 32 bits as a number (all kernel text shares the high half). */
  private readonly byLow = new Map<number, Symbol>();

  add(name: string, addr: bigint, code: EntryCode | null = null): Symbol {
    if (this.byName.has(name)) throw new Error(`model bug: symbol ${name} defined twice`);
    const u = BigInt.asUintN(64, addr);
    const s = { name, addr, lo: Number(u & 0xffffffffn), hi: Number(u >> 32n), code };
    this.byName.set(name, s);
    this.byLow.set(Number(addr & 0xffffffffn), s);
    return s;
  }

  /** Attach the model to a symbol laid out earlier. */
  bind(name: string, code: EntryCode): void {
    this.lookup(name).code = code;
  }

  lookup(name: string): Symbol {
    const s = this.byName.get(name);
    if (!s) throw new Error(`model bug: no symbol ${name}`);
    return s;
  }

  addr(name: string): bigint {
    return this.lookup(name).addr;
  }

  /** The symbol starting exactly at `addr`, or undefined. */
  at(addr: bigint): Symbol | undefined {
    const s = this.byLow.get(Number(addr & 0xffffffffn));
    return s !== undefined && s.addr === addr ? s : undefined;
  }

  /** `name+0xoff` for an address inside the table's text, as %pS prints it (nearest symbol below). */
  describe(addr: bigint): string {
    let best: Symbol | undefined;
    for (const s of this.byName.values()) if (s.addr <= addr && (!best || s.addr > best.addr)) best = s;
    if (!best || addr - best.addr > 0x1000n) return hex(addr);
    return addr === best.addr ? best.name : `${best.name}+${hex(addr - best.addr)}`;
  }

  /** Run the code at `rip`. Returns false when there is no model there (a model bug or a wild jump). */
  runAt(k: X86Kernel, rip: bigint): boolean {
    const s = this.at(rip);
    if (!s || !s.code) return false;
    s.code(k);
    return true;
  }

  /** `runAt(k, RIP)`, reading RIP's halves (no bigint). */
  runAtRip(k: X86Kernel): boolean {
    const r = k.machine.cpu.r;
    const s = this.byLow.get(r[R_RIP]!);
    if (s === undefined || s.hi !== r[R_RIP + 1] || !s.code) return false;
    s.code(k);
    return true;
  }

  all(): Symbol[] {
    return [...this.byName.values()];
  }
}
