// The kernels a scenario can run on. Each entry makes a session: a fresh Machine configured from
// the scenario, with that kernel booted on it. OS kernels (linux-5.19, linux-6.18, xnu-11417)
// join this list as their models land (issues 3 and 4).

import { Machine } from '../hw/machine.js';
import { DEFAULT_TLB } from '../hw/tlb.js';
import type { TraceSink } from '../trace/events.js';
import { BARE_OPS, BareSession } from './bare.js';
import type { StepResult } from './result.js';
import type { MachineConfig, Step } from './scenario/schema.js';
import { XNU_OPS, XnuSession } from './xnu.js';
import { LINUX_OPS, LINUX_PKEY_OPS, LinuxSession } from './linux.js';
import type { LinuxVersion } from '../kernel/linux/types.js';

export interface Session {
  readonly machine: Machine;
  /**
   * The kernel session behind it (the bare lab, the Linux or XNU session with its tasks, maps and
   * pages), for viewers that read kernel state (web/); the model never reads it back.
   */
  readonly state: unknown;
  run(step: Step, base: Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>): StepResult;
}

/** Scenario settings a session needs besides the machine (the scenario's `signals`). */
export interface SessionOptions {
  signals?: 'handle' | 'default';
  /** Reads a host file for a `file:` step's `content: {host: PATH}` (the command line's; absent in a browser). */
  readHostFile?: (path: string) => Uint8Array;
}

export interface KernelInfo {
  name: string;
  description: string;
  /** The operations its sessions run; others are rejected before the run starts. */
  ops: readonly string[];
  /**
   * The `machine:` settings its sessions honour (the hardware ones, maxphyaddr and tlb, are for
   * every kernel); a scenario setting another one is refused before the run, not ignored.
   */
  settings: readonly (keyof MachineConfig)[];
  create(machine: MachineConfig, sink: TraceSink, seed: number, opts?: SessionOptions): Session;
}

const HW_SETTINGS = ['maxphyaddr', 'tlb'] as const satisfies readonly (keyof MachineConfig)[];

/** A machine with tracing off; the session attaches the sink once its kernel has booted. */
function machineFor(cfg: MachineConfig): Machine {
  const tlb = cfg.tlb ? { sets: cfg.tlb.sets ?? DEFAULT_TLB.sets, ways: cfg.tlb.ways ?? DEFAULT_TLB.ways } : undefined;
  return new Machine({ maxPhyAddr: cfg.maxphyaddr, tlb });
}

export const KERNELS: readonly KernelInfo[] = [
  {
    name: 'bare',
    description: 'no OS: the scenario drives the machine (paging, TLB, IDT, exceptions) as a hardware lab',
    ops: BARE_OPS,
    settings: HW_SETTINGS,
    create(cfg, sink) {
      const machine = machineFor(cfg);
      const s = new BareSession(machine); // boots the lab untraced: the trace starts at step 1
      machine.trace = sink;
      return { machine, state: s, run: (step, base) => s.run(step, base) };
    },
  },
  {
    name: 'xnu-11417',
    description: 'XNU xnu-11417.121.6 (macOS 15.5) x86_64: idt64.s, user_trap, vm_fault, vm_map/vm_object/pmap, Mach exceptions to signals',
    ops: XNU_OPS,
    settings: [...HW_SETTINGS, 'ram'],
    create(cfg, sink, seed, opts) {
      const machine = machineFor(cfg);
      const s = new XnuSession(machine, { seed, ram: cfg.ram === undefined ? undefined : Number(cfg.ram), signals: opts?.signals, readHostFile: opts?.readHostFile }); // boots untraced
      machine.trace = sink;
      return { machine, state: s, run: (step, base) => s.run(step, base) };
    },
  },
  ...(['6.18', '5.19'] as const).map((v: LinuxVersion): KernelInfo => ({
    name: `linux-${v}`,
    description: `Linux ${v} x86_64: IDT/entry_64.S with PTI, arch/x86/mm/fault.c, mm/memory.c, signals; files, swap and reclaim, OOM, THP, pkeys`,
    ops: [...LINUX_OPS, ...LINUX_PKEY_OPS],
    settings: [...HW_SETTINGS, 'ram', 'swap', 'thp', 'pku', 'rlimit', 'stack_guard_gap'],
    create(cfg, sink, seed, opts) {
      const machine = machineFor(cfg);
      const s = new LinuxSession(machine, v, {
        seed, ram: cfg.ram, signals: opts?.signals ?? 'handle', swap: cfg.swap, thp: cfg.thp, rlimitStack: cfg.rlimit?.stack, stackGuardGap: cfg.stack_guard_gap,
        pku: cfg.pku, readHostFile: opts?.readHostFile,
      }); // boots untraced
      machine.trace = sink;
      return { machine, state: s, run: (step, base) => s.run(step, base) };
    },
  })),
];

/** Kernel models planned but not in this build, so a user asking for one gets a clear answer. */
export const PLANNED_KERNELS: Readonly<Record<string, string>> = {
};

export function findKernel(name: string): KernelInfo | undefined {
  return KERNELS.find((k) => k.name === name);
}
