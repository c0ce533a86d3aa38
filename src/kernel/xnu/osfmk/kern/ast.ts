// ast_taken_user (osfmk/kern/ast.c:157; xnu-11417.121.6): handle the ASTs pending for the
// thread before it returns to user mode; AST_BSD runs bsd_ast, which delivers signals.
// Simplified: no preemption, no AST_URGENT, no kevent or guard ASTs.

import { decide, enter, leave, type Xnu } from '../../xnu.js';
import { bsd_ast } from '../../bsd/kern/kern_sig.js';
import { CPU_PENDING_AST } from '../x86_64/hib.js';
import { kwrite } from '../x86_64/kaccess.js';
import { AST_BSD } from './task.js';

/** Returns false when the thread terminated (its process was killed). */
export function ast_taken_user(k: Xnu): boolean {
  enter(k, 'ast_taken_user', 'osfmk/kern/ast.c');
  const th = k.current!.thread;
  const reasons = th.ast;
  th.ast = 0;
  kwrite(k, k.m.cpu.gsBase + BigInt(CPU_PENDING_AST), 0n);
  let alive = true;
  if (reasons & AST_BSD) {
    decide(k, 'ast_taken_user', 'AST_BSD');
    alive = bsd_ast(k);
  } else decide(k, 'ast_taken_user', 'no-bsd-ast');
  leave(k, 'ast_taken_user', alive ? undefined : 'thread terminated');
  return alive;
}
