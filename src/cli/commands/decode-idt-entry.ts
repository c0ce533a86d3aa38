// `faultline decode-idt-entry W0 .. W7`: decode a 64-bit IDT gate (SDM Vol. 3 §6.14.1, Figure 6-8)
// from the eight 16-bit words a debugger prints for it, e.g. lldb's `x/8hx &idt64_hndl_table0[14]`
// or gdb's `x/8hx`. The XNU walkthrough's #PF gate, `0x2560 0x0008 0x8e00 0xc000 0xf69b 0xffff
// 0x0000 0x0000`, decodes to offset 0xfffff69bc0002560, selector 0x8, a DPL-0 interrupt gate.

import type { Command } from 'commander';
import { decodeGateWords, gateTypeName, GATE_INTERRUPT, GATE_TRAP, type Gate } from '../../hw/desc.js';
import { examples, hexOf, parseHex, table, UsageError, writeJson, type Io } from '../io.js';

const WORDS = 8;

export function register(program: Command, io: Io): void {
  program
    .command('decode-idt-entry')
    .summary('decode a 64-bit IDT gate from the 8 words x/8hx prints')
    // Paragraphs without hard line breaks: commander wraps them to the terminal.
    .description(
      'Decode a 16-byte IDT gate descriptor (Intel SDM Vol. 3 §6.14.1) given as eight 16-bit words ' +
        "in memory order, as lldb's or gdb's x/8hx prints them (hex, with or without 0x)." +
        '\n\nA leading address column ("0xffffff8000106000:") is ignored, so a pasted dump line works as is.',
    )
    .usage('[--json] W0 W1 W2 W3 W4 W5 W6 W7')
    .argument('<WORDS...>', 'the eight 16-bit words W0..W7, hex (0x2560 or 2560)')
    .option('--json', 'print the decoded fields as JSON')
    .addHelpText('after', examples([
      'decode-idt-entry 0x2560 0x0008 0x8e00 0xc000 0xf69b 0xffff 0x0000 0x0000',
      'decode-idt-entry --json 0xffffff8000106000: 2560 0008 8e00 c000 f69b ffff 0000 0000',
    ]))
    .action((words: string[], opts: { json?: boolean }) => {
      const w = parseWords(words);
      const gate = decodeGateWords(w);
      if (opts.json === true) writeJson(io, gateJson(w, gate));
      else io.out(formatGate(w, gate));
    });
}

/** The eight words, dropping a pasted `address:` column; the error names the bad word. */
export function parseWords(args: readonly string[]): number[] {
  const words = args[0]?.endsWith(':') ? args.slice(1) : args;
  if (words.length !== WORDS) {
    throw new UsageError(
      `WORDS: expected ${WORDS} 16-bit words (W0..W7, as x/8hx prints a 16-byte gate), got ${words.length}`,
    );
  }
  return words.map((t, i) => parseHex(`W${i}`, t, 0xffff));
}

function gateJson(words: readonly number[], g: Gate) {
  return {
    words: words.map((w) => `0x${w.toString(16).padStart(4, '0')}`),
    offset: hexOf64(g.offset),
    selector: g.selector,
    ist: g.ist,
    type: g.type,
    typeName: gateTypeName(g.type),
    dpl: g.dpl,
    present: g.present,
    notes: notes(words, g),
  };
}

/** Field per line, then anything that would make the CPU reject the gate. */
export function formatGate(words: readonly number[], g: Gate): string {
  const rows = [
    ['offset', hexOf64(g.offset)],
    ['selector', `${hexOf(g.selector)} (${selectorParts(g.selector)})`],
    ['IST', g.ist === 0 ? '0 (no IST stack: RSP0 on a privilege change, else the current stack)' : `${g.ist} (TSS.IST${g.ist})`],
    ['type', `${hexOf(g.type)}: ${gateTypeName(g.type)}${ifNote(g.type)}`],
    ['DPL', `${g.dpl}${g.dpl === 3 ? ' (user code may raise it with INT n)' : ''}`],
    ['present', g.present ? 'yes' : 'no (delivery through this gate raises #NP)'],
  ];
  const extra = notes(words, g).map((n) => `note: ${n}\n`).join('');
  return table(rows) + extra;
}

const hexOf64 = (v: bigint): string => `0x${v.toString(16)}`;

/** Selector = index << 3 | TI << 2 | RPL (SDM §3.4.2). */
function selectorParts(sel: number): string {
  return `${sel & 4 ? 'LDT' : 'GDT'} index ${sel >>> 3}, RPL ${sel & 3}`;
}

/** The one behavioural difference between the two gate types (SDM §6.12.1.3). */
function ifNote(type: number): string {
  if (type === GATE_INTERRUPT) return ', clears IF on entry';
  if (type === GATE_TRAP) return ', leaves IF as it was';
  return '';
}

/** Things a reader should not miss: a non-canonical handler (§6.14.1: #GP) and reserved bits set. */
function notes(words: readonly number[], g: Gate): string[] {
  const out: string[] = [];
  const top = g.offset >> 47n;
  if (top !== 0n && top !== 0x1ffffn) out.push('offset is not canonical (48-bit): delivery would raise #GP');
  if (words[6] !== 0 || words[7] !== 0) out.push('W6/W7 (the reserved upper dword) are not zero');
  return out;
}
