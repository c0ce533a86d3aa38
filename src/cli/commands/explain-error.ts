// `faultline explain-error CODE`: decode a #PF error code (SDM Vol. 3 §4.7) bit by bit, with
// Linux's X86_PF_* names and the two lines Linux's show_fault_oops() would print for it.

import type { Command } from 'commander';
import { explainPfError, PF_ERROR_BITS, type PfErrorExplained } from '../../hw/pferr.js';
import { examples, hexOf, parseUint, table, writeJson, type Io } from '../io.js';

export function register(program: Command, io: Io): void {
  program
    .command('explain-error')
    .summary('decode a page-fault (#PF) error code bit by bit')
    // Paragraphs without hard line breaks: commander wraps them to the terminal.
    .description(
      'Decode the error code the CPU pushes with a page fault (Intel SDM Vol. 3 §4.7): each bit ' +
        "with its SDM and Linux (X86_PF_*) name, a one-line summary, and Linux's oops lines for it." +
        '\n\nCodes come from dmesg ("error 6"), perf ("error_code=0x6") or a crash report.',
    )
    .argument('<CODE>', 'the error code, hex (0x6) or decimal (6), 0 to 0xffffffff')
    .option('--json', 'print the decoded bits as JSON')
    .addHelpText('after', examples(['explain-error 0x6', 'explain-error 21', 'explain-error --json 0x15']))
    .action((code: string, opts: { json?: boolean }) => {
      const explained = explainPfError(parseUint('CODE', code));
      if (opts.json === true) writeJson(io, explained);
      else io.out(formatExplained(explained));
    });
}

/** The bit table, the summary line, the oops lines, and any bits the SDM does not define. */
export function formatExplained(x: PfErrorExplained): string {
  const rows = [['bit', 'flag', 'Linux', 'value', 'meaning']];
  x.bits.forEach((b, i) => {
    rows.push([String(PF_ERROR_BITS[i]!.bit).padStart(3), b.name, b.linux || '-', String(b.value), b.meaning]);
  });
  const unknown = x.unknownBits === 0
    ? ''
    : `unknown bits: ${hexOf(x.unknownBits)} (bit ${bitList(x.unknownBits)}), reserved in the SDM\n`;
  return (
    `#PF error code ${hexOf(x.code)} (${x.code})\n\n` +
    table(rows) +
    `\n${hexOf(x.code)}: ${x.summary}\n` +
    unknown +
    "\nLinux's oops (show_fault_oops, arch/x86/mm/fault.c) would say:\n" +
    x.oops.map((l) => `  ${l}\n`).join('')
  );
}

function bitList(mask: number): string {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if ((mask >>> b) & 1) bits.push(b);
  return bits.join(', ');
}
