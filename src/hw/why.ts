// Names the rule that denied an access (SDM Vol. 3 §4.6), for traces and the UI. The error code
// is computed by paging.ts; this only labels it, and runs only with tracing on.

import type { WalkFailure } from '../trace/events.js';
import type { PagingCtl } from './ctl.js';
import { ACC_EXEC, ACC_WRITE, R_RW, R_US, R_XD } from './paging.js';

export function faultReason(ctl: PagingCtl, rights: number, pkey: number, acc: number, user: boolean, implicit: boolean): WalkFailure {
  const userAddr = (rights & R_US) !== 0;
  if (acc === ACC_EXEC) {
    if (user && !userAddr) return 'user-access-to-supervisor-page';
    if (!user && userAddr && ctl.smep) return 'smep';
    return 'fetch-from-nx-page';
  }
  if (user && !userAddr) return 'user-access-to-supervisor-page';
  if (!user && userAddr && ctl.smap && (implicit || !ctl.ac)) return 'smap';
  if (acc === ACC_WRITE && !(rights & R_RW) && (user || ctl.wp)) return 'write-to-read-only';
  const bits = (ctl.pkru >>> (2 * pkey)) & 3;
  if (bits & 1) return 'pkey-access-disabled';
  if (rights & R_XD && acc === ACC_EXEC) return 'fetch-from-nx-page';
  return 'pkey-write-disabled';
}
