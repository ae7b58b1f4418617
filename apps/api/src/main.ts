import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { ConfigError, loadConfig } from '@deals/platform';
import { createApp } from './app';
import { developmentKey } from './auth/development-key';
import { DemoSeeder } from './demo/demo-seeder';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  mkdirSync(config.dataDir, { recursive: true });
  const devKey = config.apiKeys.length === 0 ? developmentKey(config.dataDir) : undefined;
  const app = await createApp(devKey ? { ...config, apiKeys: [devKey] } : config);
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  console.log(`Deal service listening on ${url} (data in ${config.dataDir}); API docs at ${url}/docs`);
  const seeded = app.get(DemoSeeder).seededDeals;
  if (seeded > 0) console.log(`The event store was empty: seeded ${seeded} demo deals at several stages (SEED_DEMO=false turns this off).`);
  if (devKey) {
    console.log(
      [
        '',
        'No API_KEYS configured: created a local development key with every role.',
        `  key: ${devKey.key}`,
        `  capture a lead:`,
        `    curl -s -X POST ${url}/deals -H 'Authorization: Bearer ${devKey.key}' -H 'Content-Type: application/json' \\`,
        `      -d '{"title":"First deal","organization":"Acme","contact":{"name":"Ada","email":"ada@acme.example"},"source":"web","owner":"me","estimatedValue":{"amount":1000,"currency":"EUR"}}'`,
        `  then read it with the dealId it answers:`,
        `    curl -s -H 'Authorization: Bearer ${devKey.key}' ${url}/deals/<dealId>/history`,
        '',
      ].join('\n'),
    );
  }
}

void main();
