// The CLI framework, driven in-process: help, version, unknown commands, and how errors thrown
// by a command become output and exit codes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { main, type Registrar } from '../../src/cli/main.js';
import { captureIo, CliExit, UsageError } from '../../src/cli/io.js';

async function run(args: string[], extra: Registrar[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(args, io, extra);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** A user mistake: exit 2, a message, the hint, and no stack trace. */
function assertUsageError(r: { code: number; stdout: string; stderr: string }, hint: string, message: RegExp): void {
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.ok(r.stderr.endsWith(`see '${hint} --help'\n`), r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

test('--help lists the commands and examples on stdout, exit 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Usage: faultline \[options\] \[command\]/);
  assert.match(r.stdout, /^ {2}explain-error \[options\] <CODE> +decode a page-fault/m);
  assert.match(r.stdout, /^ {2}decode-idt-entry /m);
  assert.match(r.stdout, /^Examples:\n {2}\$ faultline /m);
});

test('every command has --help with examples', async () => {
  for (const cmd of ['explain-error', 'decode-idt-entry']) {
    for (const args of [[cmd, '--help'], ['help', cmd]]) {
      const r = await run(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, new RegExp(`^Usage: faultline ${cmd} `));
      assert.match(r.stdout, new RegExp(`^Examples:\\n {2}\\$ faultline ${cmd} `, 'm'));
    }
  }
});

test('--version prints the package version', async () => {
  const r = await run(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('no command: help on stderr, exit 2', async () => {
  const r = await run([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Usage: faultline/);
});

test('an unknown command lists the commands', async () => {
  const r = await run(['frobnicate']);
  assertUsageError(r, 'faultline', /^error: unknown command 'frobnicate'\ncommands: run, kernels, demo, explain-error, decode-idt-entry\n/);
});

test('a misspelt command gets a suggestion', async () => {
  const r = await run(['explain-eror', '6']);
  assertUsageError(r, 'faultline', /\(Did you mean explain-error\?\)/);
});

test('an unknown option names itself and points at the command help', async () => {
  const r = await run(['explain-error', '6', '--jsn']);
  assertUsageError(r, 'faultline explain-error', /^error: unknown option '--jsn'\n\(Did you mean --json\?\)/);
});

const probe = (action: (cmd: Command) => void): Registrar => (program) => {
  const cmd = program.command('probe').argument('[x]');
  cmd.action(() => action(cmd));
};

test('UsageError from a command: its message and that command\'s help hint, exit 2', async () => {
  const r = await run(['probe'], [probe(() => { throw new UsageError("FILE 'x.yaml' not found"); })]);
  assertUsageError(r, 'faultline probe', /^error: FILE 'x.yaml' not found\n/);
});

test('CliExit ends with its code and prints nothing more', async () => {
  const io = captureIo();
  const code = await main(['probe'], io, [probe(() => { io.out('1 difference\n'); throw new CliExit(1); })]);
  assert.equal(code, 1);
  assert.equal(io.stdout, '1 difference\n');
  assert.equal(io.stderr, '');
});

test('any other error is a bug: reported as internal, with its stack, exit 1', async () => {
  const r = await run(['probe'], [probe(() => { throw new TypeError('oops'); })]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^faultline: internal error: TypeError: oops\n\s+at /);
});
