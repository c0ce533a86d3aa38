// Where things sit in the kernel's address space (the model's linker map). XNU links its
// image at 0xffffff8000100000 (PML4 slot 511); the `__HIB` segment comes first and is the part
// the double map aliases into PML4 slot 493 (i386_init.c:1150 doublemap_init). The offsets of
// master_idt64 (__HIB+0xc000) and idt64_zero_div (__HIB+0x2560) are those the seed article's lldb
// session shows; the other offsets are the model's choice (FIXME: not read from a real kernel).

/** __HIB.vmaddr (the kernel's link address). */
export const HIB_BASE = 0xffffff8000100000n;
export const HIB_SIZE = 0x18000;

/** __HIB,__text: the 256 IDT stubs, 16 bytes each, in idt_table.h order from +0x2560. */
export const HIB_STUBS = 0x2560;
export const HIB_STUB_SIZE = 0x10;
/** __HIB,__text labels reached through DBLMAP (idt64.s). */
export const HIB_TEXT_LABELS: Readonly<Record<string, number>> = {
  L_dispatch: 0x3600,
  L_dispatch_kgsb: 0x3640,
  ks_64bit_return: 0x3700,
  ks_32bit_return: 0x3780,
  ret64_iret: 0x37f0,
  hi64_syscall: 0x3800,
  hi64_sysenter: 0x3880,
};
export const HIB_TEXT_END = 0x4000;

/** __HIB,__desc and __HIB,__data. */
export const HIB_MASTER_IDT64 = 0xc000;
export const HIB_MASTER_GDT = 0xd000;
export const HIB_MASTER_KTSS64 = 0xe000;
export const HIB_IDT64_HNDL_TABLE0 = 0xe800;
/** scfstks[cpu]: a double-fault stack then the fault stack (rsp0), one page each. */
export const HIB_SCFSTKS = 0x10000;
export const SCFSTK_SIZE = 0x2000;
/** cpshadows[cpu]: the per-CPU shadow data reachable with the user CR3. */
export const HIB_CPSHADOWS = 0x14000;

/** Physical home of __HIB (loaded at 1 MiB). */
export const HIB_PHYS_PFN = 0x100;

/** Ordinary kernel text (never aliased): the labels after the CR3 switch, for RIP values. */
export const KTEXT_BASE = 0xffffff8000200000n;
const KTEXT_LABELS = [
  'ks_dispatch', 'ks_dispatch_kernel', 'ks_dispatch_user', 'L_dispatch_U64', 'L_dispatch_64bit', 'L_common_dispatch',
  'hndl_alltraps', 'trap_from_kernel', 'return_from_trap', 'return_to_user', 'ret_to_user', 'ret_to_kernel',
  'user_trap', 'kernel_trap', 'unix_syscall64', '_bcopy', '_bcopy_fail',
] as const;
export type KtextLabel = (typeof KTEXT_LABELS)[number];
export function ktext(label: KtextLabel): bigint {
  return KTEXT_BASE + BigInt(KTEXT_LABELS.indexOf(label) * 0x100);
}

/** scdatas[0], the boot CPU's cpu_data (kernel-only mapping). */
export const CPU_DATA_VA = 0xffffff8000400000n;
/** kmem for PCBs and kernel stacks. */
export const KMEM_BASE = 0xffffff8000800000n;

/** cpu_data offsets the asm uses (genassym.c names; the values are the model's layout). */
export const CPU_THIS = 0x00;
export const CPU_UBER_TMP = 0x20;
export const CPU_UBER_ISF = 0x28;
export const CPU_KERNEL_STACK = 0x30;
export const CPU_TASK_CR3 = 0x38;
export const CPU_ACTIVE_CR3 = 0x40;
export const CPU_KERNEL_CR3 = 0x48;
export const CPU_UCR3 = 0x50;
export const CPU_ESTACK = 0x58;
export const CPU_PENDING_AST = 0x60;
export const CPU_NUMBER = 0x68;
export const CPU_TASK_MAP = 0x70;
export const CPU_DR7 = 0x78;
export const CPU_TLB_INVALID = 0x80;
export const CPU_NEED_SEGCHK = 0x88;
/** The shadow copy's task CR3 (cd_shadow.cpu_shadowtask_cr3), read through the double map. */
export const CPU_SHADOWTASK_CR3 = 0x38;

/** x86_saved_state_t offsets (osfmk/i386/genassym.c:213-254; xnu.md §3): R64_* = ss_64 + 16. */
export const SS_FLAVOR = 0;
export const SS_64 = 15;
export const R64 = {
  rdi: 16, rsi: 24, rdx: 32, r10: 40, r8: 48, r9: 56, cr2: 64, r15: 72, r14: 80, r13: 88, r12: 96, r11: 104,
  rbp: 112, rbx: 120, rcx: 128, rax: 136, gs: 144, fs: 148, ds: 152, es: 156,
  trapno: 160, cpu: 162, trapfn: 168, err: 176, rip: 184, cs: 192, rflags: 200, rsp: 208, ss: 216,
} as const;
export const ISS64_OFFSET = 160;
export const ISF64_SIZE = 64;
export const X86_SAVED_STATE_SIZE = 224;

/** Selectors (osfmk/i386/seg.h:273). */
export const KERNEL64_CS = 0x08;
export const KERNEL64_SS = 0x10;
export const USER_CS = 0x1b;
export const USER_DS = 0x23;
export const USER64_CS = 0x2b;
export const KERNEL_TSS = 0x40;
export const KERNEL32_CS = 0x50;
export const KERNEL_DS = 0x68;
