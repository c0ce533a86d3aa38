// `npm run bench`: one JSON line per figure, {"name", "value", "unit"}. Measured with tracing off,
// after a warm-up; the best of three rounds is kept. Each figure runs in its own Node process
// (`node dist/bench/run.js FIGURE`), so the JIT state of one figure cannot skew the next.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Machine } from '../src/hw/machine.js';
import { ACC_READ } from '../src/hw/paging.js';
import { CR4_LA57 } from '../src/hw/regs.js';
import { BareLab, parseFlags } from '../src/kernel/bare/lab.js';
import { LINUX_FIGURES } from './linux.js';
import { XNU_FIGURES } from './xnu.js';
import { FILES_FIGURES } from './files.js';
import { PRESSURE_FIGURES } from './pressure.js';

function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value), unit }));
}

/** Runs `body(n)` with growing n until a round takes ~300 ms; returns the best ops/s of 3 rounds. */
function rate(body: (n: number) => void): number {
  let n = 1000;
  for (;;) {
    const t0 = process.hrtime.bigint();
    body(n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms > 100) break;
    n *= 4;
  }
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, n / s);
  }
  return best;
}

const USER = parseFlags(['p', 'rw', 'us']);
const BASE = 0x7f0000000000n;

function userMachine(opts: { tlb: boolean; la57?: boolean; pages: number }): { m: Machine; vpns: number[] } {
  const m = new Machine(opts.tlb ? {} : { tlb: null });
  const lab = new BareLab(m);
  if (opts.la57) {
    m.setCr4(m.cpu.cr4 | CR4_LA57);
    lab.reloadRoot();
  }
  const vpns: number[] = [];
  for (let i = 0; i < opts.pages; i++) {
    const va = BASE + BigInt(i) * 0x1000n;
    lab.map(va, 0x40000000n + BigInt(i) * 0x1000n, '4k', USER, USER);
    vpns.push(Number(va >> 12n));
  }
  lab.setCpl(3);
  for (const v of vpns) m.translate(v, ACC_READ, true, false); // set A flags, warm the TLB
  return { m, vpns };
}

function translations(m: Machine, vpns: number[]): (n: number) => void {
  const k = vpns.length;
  return (n) => {
    // XOR keeps the accumulator a small integer (a sum overflowed into a double and deoptimized
    // the loop); it exists only so the translations cannot be optimized away, and a -1 (fault)
    // from any of them is caught below.
    let sink = 0;
    let faults = 0;
    for (let i = 0; i < n; i++) {
      const pfn = m.translate(vpns[i % k]!, ACC_READ, true, false);
      sink ^= pfn;
      faults += pfn >>> 31;
    }
    if (faults !== 0 || sink === 0.5) throw new Error('bench bug: a translation faulted');
  };
}

const FIGURES: Record<string, () => void> = {
  tlb_hit_translations_per_s() {
    const { m, vpns } = userMachine({ tlb: true, pages: 8 });
    const missesBefore = m.tlb!.misses;
    report('tlb_hit_translations_per_s', rate(translations(m, vpns)), 'translations/s');
    if (m.tlb!.misses !== missesBefore) throw new Error('bench bug: expected TLB hits only');
  },
  walks_4level_per_s() {
    const { m, vpns } = userMachine({ tlb: false, pages: 64 });
    report('walks_4level_per_s', rate(translations(m, vpns)), 'walks/s');
  },
  walks_5level_per_s() {
    const { m, vpns } = userMachine({ tlb: false, la57: true, pages: 64 });
    report('walks_5level_per_s', rate(translations(m, vpns)), 'walks/s');
  },
  exception_deliveries_per_s() {
    const m = new Machine();
    const lab = new BareLab(m);
    lab.setCpl(3);
    const va = 0x7f0000100000n;
    report('exception_deliveries_per_s', rate((n) => {
      for (let i = 0; i < n; i++) {
        m.access({ va, access: 'write', size: 1, value: 1n });
        lab.returnFromHandler(true);
      }
      m.takeRaised();
    }), 'deliveries/s');
  },
  ...LINUX_FIGURES,
  ...XNU_FIGURES,
  ...FILES_FIGURES,
  ...PRESSURE_FIGURES,
};

const which = process.argv[2];
if (which) {
  const f = FIGURES[which];
  if (!f) {
    console.error(`unknown figure '${which}'; figures: ${Object.keys(FIGURES).join(', ')}`);
    process.exitCode = 2;
  } else f();
} else {
  const self = fileURLToPath(import.meta.url);
  for (const name of Object.keys(FIGURES)) {
    process.stdout.write(execFileSync(process.execPath, [self, name], { encoding: 'utf8' }));
  }
}
