// Saved register frames labelled at their offsets: Linux `struct pt_regs`
// (arch/x86/include/asm/ptrace.h, FRAME_SIZE 168) and XNU `x86_saved_state64` with its
// `x86_64_intr_stack_frame` (osfmk/mach/i386/thread_status.h, 208 bytes). In both the CPU's
// pushed words (error code, RIP, CS, RFLAGS, RSP, SS) are the frame's last six slots, so the
// frame's base is the address where the CPU pushed SS minus the offset of `ss`.

export interface FrameLayout {
  name: string;
  /** Offset of the saved SS: base = address of the pushed SS - this. */
  ssOffset: number;
  fields: { off: number; name: string; size: 8 | 4 | 2 }[];
}

const PT_REGS = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax (error code)', 'ip', 'cs', 'flags', 'sp', 'ss'];

export const LINUX_PT_REGS: FrameLayout = {
  name: 'struct pt_regs',
  ssOffset: 160,
  fields: PT_REGS.map((name, i) => ({ off: i * 8, name, size: 8 as const })),
};

const SS64 = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9', 'cr2', 'r15', 'r14', 'r13', 'r12', 'r11', 'rbp', 'rbx', 'rcx', 'rax'];

export const XNU_SAVED_STATE64: FrameLayout = {
  name: 'x86_saved_state64',
  ssOffset: 200,
  fields: [
    ...SS64.map((name, i) => ({ off: i * 8, name, size: 8 as const })),
    { off: 128, name: 'gs', size: 4 }, { off: 132, name: 'fs', size: 4 }, { off: 136, name: 'ds', size: 4 }, { off: 140, name: 'es', size: 4 },
    { off: 144, name: 'isf.trapno', size: 2 }, { off: 146, name: 'isf.cpu', size: 2 },
    { off: 152, name: 'isf.trapfn', size: 8 }, { off: 160, name: 'isf.err', size: 8 }, { off: 168, name: 'isf.rip', size: 8 },
    { off: 176, name: 'isf.cs', size: 8 }, { off: 184, name: 'isf.rflags', size: 8 }, { off: 192, name: 'isf.rsp', size: 8 },
    { off: 200, name: 'isf.ss', size: 8 },
  ],
};

export function layoutFor(kernel: string): FrameLayout | null {
  if (kernel.startsWith('linux')) return LINUX_PT_REGS;
  if (kernel.startsWith('xnu')) return XNU_SAVED_STATE64;
  return null;
}
