// The first user process, as fs/exec.c (setup_new_exec, setup_arg_pages) and the ELF loader
// (fs/binfmt_elf.c) would leave a small static program: a text VMA at 0x400000, a stack VMA of
// 132 KiB under 0x7ffffffff000 (VM_STACK_FLAGS, grows down) whose top pages hold what the kernel
// copied there (faulted in like get_user_pages does at exec: they count as minor faults of the
// task), and the program break. Simplified: no ELF file behind the text (an anonymous VMA), no
// vDSO/vvar, no ASLR.

import { RFLAGS_FIXED, RFLAGS_IF } from '../../../hw/regs.js';
import type { LinuxTask } from '../arch/x86/include/asm/processor.js';
import { BootError } from '../arch/x86/mm/init_64.js';
import {
  FAULT_FLAG_WRITE, VM_EXEC, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_STACK_FLAGS, VM_WRITE,
} from '../include/linux/mm_types.js';
import { mmap_read_lock, mmap_read_unlock } from '../include/linux/mmap_lock.js';
import type { LinuxKernel } from '../linux.js';
import { USER_BRK0, USER_INSN_IP, USER_RSP, USER_STACK_TOP, USER_TEXT } from '../linux.js';
import { handle_mm_fault } from '../mm/memory.js';
import { mm_alloc } from '../mm/mm_init.js';
import { vm_stat_account } from '../mm/mmap.js';
import { find_vma, vm_area_alloc, vma_link, vma_set_page_prot } from '../mm/vma.js';

const STACK_SIZE = 132 * 1024; // the initial stack VMA (stack_expand = 128 KiB + the arg pages)

/** Create the first process `name` with its address space; it becomes `current`. */
export function exec_first_process(k: LinuxKernel, name: string): LinuxTask {
  const mm = mm_alloc(k);
  if (!mm) throw new BootError('out of memory creating the first process');
  const t = k.new_task(name, mm, null);
  const text = vm_area_alloc(mm, USER_TEXT, USER_TEXT + 0x2000, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, USER_TEXT / 4096);
  vma_set_page_prot(text);
  vma_link(mm, text);
  vm_stat_account(mm, text.vm_flags, 2);
  const start = USER_STACK_TOP - STACK_SIZE;
  const stack = vm_area_alloc(mm, start, USER_STACK_TOP, VM_STACK_FLAGS | VM_READ | VM_WRITE, start / 4096);
  vma_set_page_prot(stack);
  vma_link(mm, stack);
  vm_stat_account(mm, stack.vm_flags, STACK_SIZE / 4096);
  mm.start_stack = Number(USER_RSP);
  mm.start_brk = mm.brk = USER_BRK0;
  t.user = { rip: USER_INSN_IP, rsp: USER_RSP, rflags: RFLAGS_FIXED | RFLAGS_IF };
  k.switch_to_first(t);
  // copy_strings()/create_elf_tables(): the kernel writes argv, envp and auxv at the stack top.
  mmap_read_lock(k, mm);
  for (const page of [Number(USER_RSP), Number(USER_RSP) - 4096]) {
    handle_mm_fault(k, find_vma(k, mm, page)!, page, FAULT_FLAG_WRITE, null);
  }
  mmap_read_unlock(k, mm);
  return t;
}
