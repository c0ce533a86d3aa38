// THE SDM CASE TABLE: every rule of Intel SDM Vol. 3 §4.5-§4.8 this project models, as data.
// Each case names its section, builds page tables with harness.ts's builder, makes one access and
// states the exact outcome (#PF error code and CR2, #GP(0), or the physical address), plus the A/D
// flags afterwards where that is the point. run.ts turns each case into one node:test test.

import type { SdmCase } from './harness.js';
import { WALK_CASES } from './cases_walk.js';
import { RIGHTS_CASES } from './cases_rights.js';
import { PK_CASES } from './cases_pk.js';
import { RSVD_CASES } from './cases_rsvd.js';

export type { SdmCase } from './harness.js';

export const SDM_CASES: readonly SdmCase[] = [...WALK_CASES, ...RIGHTS_CASES, ...PK_CASES, ...RSVD_CASES];

// Case ids are how failures are reported and discussed: they must be unique.
const seen = new Set<string>();
for (const c of SDM_CASES) {
  if (seen.has(c.id)) throw new Error(`SDM case table: duplicate id ${c.id}`);
  seen.add(c.id);
}
