import 'reflect-metadata';
import { ConfigError } from '@deals/platform';
import { configOrExit, startWorkerApp } from '../../api/src/projections/worker-app';
import { RelayAppModule } from './relay-app.module';

/** The relay: publishes every deal event to KAFKA_TOPIC while it holds the `relay-<topic>` lease; see docs/production.md. */
async function main(): Promise<void> {
  const config = configOrExit((loaded) => {
    if (loaded.kafka === undefined) throw new ConfigError('KAFKA_BROKERS', 'is required by the relay (comma-separated host:port)');
  });
  await startWorkerApp('Relay', config, RelayAppModule.forRoot(config));
}

main().catch((error: unknown) => {
  console.error(`The relay could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
