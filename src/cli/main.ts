// The `faultline` command line. bin/faultline.js calls main(process.argv.slice(2)).
//
// Every command lives in its own module under ./commands/ and exports
//   register(program: Command, io: Io): void
// which adds one subcommand to `program` (program.command(...)). main() owns everything around
// the commands: output streams, --help/--version, and turning mistakes into a message and exit
// code 2 (never a stack trace). It returns the exit code instead of calling process.exit, so tests
// drive the whole CLI in-process (see captureIo in ./io.ts).

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliExit, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, examples, processIo, type Io } from './io.js';

export type { Io } from './io.js';
export { captureIo, type CapturedIo } from './io.js';

/** A command module's entry point: add one subcommand to the program. */
export type Registrar = (program: Command, io: Io) => void;

/** What every module in ./commands/ exports. */
export interface CommandModule {
  register: Registrar;
}

// --- The commands, in the order `faultline --help` lists them. -------------------------------
// To add a command: write src/cli/commands/<name>.ts exporting `register(program, io)` and add
// its one line here. The import paths are literal, so tsc still checks that each module exists
// and exports a matching `register`.
const COMMANDS: readonly (() => Promise<CommandModule>)[] = [
  () => import('./commands/run.js'),
  () => import('./commands/kernels.js'),
  () => import('./commands/demo.js'),
  () => import('./commands/explain-error.js'),
  () => import('./commands/decode-idt-entry.js'),
];

const NAME = 'faultline';

/**
 * Run the CLI on `argv` (without node and the script path); resolves to the exit code.
 * `extra` registers more commands after the built-in ones (tests use it to exercise main's error
 * handling with a command of their own).
 */
export async function main(argv: string[], io: Io = processIo, extra: readonly Registrar[] = []): Promise<number> {
  const failed: { cmd: Command | undefined } = { cmd: undefined };
  const program = await buildProgram(io, failed, extra);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    return handleError(e, failed.cmd ?? program, program, io);
  }
}

/**
 * The program with every command registered. `failed.cmd` records the command that was running
 * or being parsed when something went wrong, so the error can point at that command's --help.
 */
export async function buildProgram(
  io: Io,
  failed: { cmd: Command | undefined } = { cmd: undefined },
  extra: readonly Registrar[] = [],
): Promise<Command> {
  const modules = await Promise.all(COMMANDS.map((load) => load()));
  const program = new Command(NAME)
    .description('An executable, inspectable model of x86-64 page-fault handling as Linux and XNU do it.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText('after', examples(['help explain-error', 'explain-error 0x6', 'decode-idt-entry 2560 0008 8e00 c000 f69b ffff 0000 0000']))
    // Set before registering: subcommands inherit the override when program.command() creates them.
    .exitOverride()
    .hook('preAction', (_root, action) => {
      failed.cmd = action;
    });
  for (const m of modules) m.register(program, io);
  for (const register of extra) register(program, io);
  configureTree(program, io, failed);
  return program;
}

/**
 * Send help and version to io.out/io.err, and swallow commander's own error printing: main()
 * prints errors itself, with the hint. Each command gets its own closure so we learn which one
 * rejected its arguments. exitOverride() again because a module may have built its command with
 * `new Command()` + addCommand, which inherits nothing.
 */
function configureTree(cmd: Command, io: Io, failed: { cmd: Command | undefined }): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => io.out(s),
    writeErr: (s) => io.err(s),
    outputError: () => {
      failed.cmd = cmd;
    },
  });
  for (const sub of cmd.commands) configureTree(sub, io, failed);
}

/** Turn anything thrown while parsing or running into output and an exit code. */
function handleError(e: unknown, cmd: Command, program: Command, io: Io): number {
  if (e instanceof CliExit) return e.code;
  if (e instanceof UsageError) return usage(io, cmd, `error: ${e.message}`);
  if (e instanceof CommanderError) return commanderError(e, cmd, program, io);
  // Anything else is a bug in faultline, not a user mistake: the stack trace is what a bug report needs.
  const err = e instanceof Error ? e : new Error(String(e));
  io.err(`${NAME}: internal error: ${err.stack ?? err.message}\n`);
  return EXIT_FAILURE;
}

function commanderError(e: CommanderError, cmd: Command, program: Command, io: Io): number {
  switch (e.code) {
    case 'commander.helpDisplayed':
    case 'commander.version':
      return EXIT_OK;
    case 'commander.help':
      // `faultline help x` (exit 0), or `faultline` with no command: help went to stderr, a usage error.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    case 'commander.unknownCommand': {
      const names = program.commands.map((c) => c.name()).join(', ');
      return usage(io, program, `${e.message}\ncommands: ${names}`);
    }
    default:
      return usage(io, cmd, e.message);
  }
}

function usage(io: Io, cmd: Command, message: string): number {
  const path = commandPath(cmd);
  io.err(`${message.trimEnd()}\nsee '${path} --help'\n`);
  return EXIT_USAGE;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The version from package.json (dist/src/cli/main.js -> ../../../package.json). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
