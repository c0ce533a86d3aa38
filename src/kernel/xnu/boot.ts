// Booting the XNU model on a Machine: vstart, then the first process (load_machfile).

import type { Machine } from '../../hw/machine.js';
import { Xnu, type BootOptions } from './xnu.js';
import { vstart } from './osfmk/i386/i386_init.js';
import { load_machfile } from './bsd/kern/mach_loader.js';
import type { Task } from './osfmk/kern/task.js';

export interface BootedXnu {
  k: Xnu;
  init: Task;
}

export function bootXnu(m: Machine, opts: BootOptions & { signals?: 'handle' | 'default'; name?: string }): BootedXnu {
  const k = new Xnu(m, opts);
  k.signals = opts.signals ?? 'handle';
  vstart(k);
  const init = load_machfile(k, opts.name ?? 'main');
  return { k, init };
}
