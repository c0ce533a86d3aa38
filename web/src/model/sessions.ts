// Sessions whose kernel objects the page can read. KernelInfo.create (src/workload/kernels.ts)
// returns only { machine, run }, which hides the kernel session (the Linux `Kernel`, the XNU
// `Xnu`: tasks, mm_struct and VMAs, vm_map entries and objects, struct page counts). These
// factories build the same workload session classes the same way, keeping the session object,
// and are used only after a check that they replay the CLI's trace event for event (run.ts).
// FIXME: drop this file once Session exposes its kernel session (e.g. `state: s`).

import { Machine } from '../../../src/hw/machine.js';
import { DEFAULT_TLB } from '../../../src/hw/tlb.js';
import type { TraceSink } from '../../../src/trace/events.js';
import { LinuxSession } from '../../../src/workload/linux.js';
import type { Session } from '../../../src/workload/kernels.js';
import type { Scenario } from '../../../src/workload/scenario/index.js';
import { XnuSession } from '../../../src/workload/xnu.js';

export type Inspectable = Session & { state: unknown };

function machineFor(cfg: Scenario['machine']): Machine {
  const tlb = cfg.tlb ? { sets: cfg.tlb.sets ?? DEFAULT_TLB.sets, ways: cfg.tlb.ways ?? DEFAULT_TLB.ways } : undefined;
  return new Machine({ maxPhyAddr: cfg.maxphyaddr, tlb });
}

/** A session with its kernel objects in `state`, or null for kernels without a factory here. */
export function inspectableSession(kernel: string, s: Scenario, sink: TraceSink): Inspectable | null {
  const machine = machineFor(s.machine);
  if (kernel === 'xnu-11417') {
    const x = new XnuSession(machine, { seed: s.seed, ram: s.machine.ram === undefined ? undefined : Number(s.machine.ram), signals: s.signals });
    machine.trace = sink;
    return { machine, run: (step, base) => x.run(step, base), state: x };
  }
  const v = /^linux-(5\.19|6\.18)$/.exec(kernel)?.[1] as '5.19' | '6.18' | undefined;
  if (v) {
    const l = new LinuxSession(machine, v, { seed: s.seed, ram: s.machine.ram, signals: s.signals ?? 'handle' });
    machine.trace = sink;
    return { machine, run: (step, base) => l.run(step, base), state: l };
  }
  return null;
}
