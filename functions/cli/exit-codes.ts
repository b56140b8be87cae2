/**
 * Exit status, one table for every command, so a script can branch on it (`greenscreen run … &&
 * next-step` runs next-step only when every photo succeeded). `--help` and the README print it.
 */

export const EXIT = {
  /** Every photo succeeded; for commands that process none: it did what it was asked. */
  ok: 0,
  /** It could not do its work: one line on stderr says what was expected and what arrived. */
  error: 1,
  /** The command line was refused before anything started (usage, or a value that cannot work). */
  usage: 2,
  /** Every job ended, but some photos failed, each with a recorded reason (the summary names them). */
  failed: 3,
  /** Some jobs never ended: lost, or still unfinished at --timeout (wins over 3). */
  lost: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT] | number;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * 128 + the signal's number, as a shell reports a process killed by it (130 SIGINT, 143 SIGTERM,
 * 129 SIGHUP); the death of the process that started this one counts as a hang-up.
 */
export function signalExit(reason: string): number {
  return 128 + (SIGNAL_NUMBERS[reason] ?? SIGNAL_NUMBERS.SIGHUP!);
}

/** A run's status from its counts: lost jobs first, then failed photos, else 0. */
export function photosExit(counts: { failed: number; lost: number }): number {
  if (counts.lost > 0) return EXIT.lost;
  if (counts.failed > 0) return EXIT.failed;
  return EXIT.ok;
}

/** The table `--help` prints under each command (and the README repeats). */
export const EXIT_STATUS_HELP =
  'Exit status (the same for every command):\n' +
  '  0    every photo succeeded (commands that process none: done as asked)\n' +
  '  1    it could not do its work; one line on stderr says what was expected and what arrived\n' +
  '  2    usage: the command line was refused before anything started\n' +
  '  3    every job ended but some photos failed, each with a recorded reason (the summary names them)\n' +
  '  4    some jobs never ended: lost, or unfinished at --timeout (wins over 3)\n' +
  '  128+N  stopped by signal N (130 Ctrl-C/SIGINT, 143 SIGTERM); outputs so far are kept';
