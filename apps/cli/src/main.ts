import 'reflect-metadata';
import { runCli } from './cli';

// The exit code is set rather than forced, so buffered output (a CSV on a pipe) is written out first.
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
);
