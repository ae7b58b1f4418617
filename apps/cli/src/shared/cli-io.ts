/**
 * Where a command writes and what it reads from its surroundings. `main.ts` passes the process's
 * own; tests pass buffers and a temporary environment, so every command runs in-process unchanged.
 */
export interface OutputStream {
  write(text: string): unknown;
  /** Set on a terminal: progress is redrawn in place rather than printed line by line. */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (files, DATA_DIR) are resolved from here. */
  readonly cwd: string;
}

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** A mistake in the command line itself (exit 2), as opposed to a failure while running it (exit 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a message for the operator and nothing more to show (no stack trace). */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}
