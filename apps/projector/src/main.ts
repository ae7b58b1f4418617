import 'reflect-metadata';
import { configOrExit, startWorkerApp } from '../../api/src/projections/worker-app';
import { ProjectorModule } from './projector.module';

/** The projector: runs every projection while it holds the `projector` lease; see docs/production.md. */
async function main(): Promise<void> {
  const config = configOrExit();
  await startWorkerApp('Projector', config, ProjectorModule.forRoot(config));
}

main().catch((error: unknown) => {
  console.error(`The projector could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
