// The concurrent baseline: the same Express app on Emmett 0.42.0's PostgreSQL event store, used as its
// documentation shows (getPostgreSQLEventStore(connectionString), its default pool), on a database
// created for the run and dropped after it. POSTGRES_URL names the server (default: the local one).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { type DealState, initialDealState } from '@deals/domain';
import { type EmmettDealEvent, evolveEmmett } from './emmett-deal';
import { contractVersion, emmettDealApp, type EmmettDealStreams, emmettExpectedVersion } from './emmett-express';
import { CommandHandler, getPostgreSQLEventStore, PgClient, type PostgresEventStore, STREAM_DOES_NOT_EXIST } from './postgresql-pair';
import { type BaselineServer, benchApiKey, serve, serverErrorReporter, startServerProcess } from './server-process';

export const postgresqlUrl = process.env['POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function withClient<T>(url: string, work: (client: InstanceType<typeof PgClient>) => Promise<T>): Promise<T> {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether a PostgreSQL server answers at `url`, so a run without one reports the baseline as not run. */
export async function postgresqlAnswers(url = postgresqlUrl): Promise<boolean> {
  try {
    return await withClient(url, async (client) => (await client.query('SELECT 1')).rowCount === 1);
  } catch {
    return false;
  }
}

/** Emmett's CommandHandler on a PostgreSQL event store: the deal streams the Express app serves. */
export function emmettPostgresqlStreams(store: PostgresEventStore): EmmettDealStreams {
  const handle = CommandHandler<DealState, EmmettDealEvent>({ evolve: evolveEmmett, initialState: () => initialDealState });
  return {
    async handle(dealId, decide, expected) {
      const expectedStreamVersion = emmettExpectedVersion(expected, STREAM_DOES_NOT_EXIST);
      const result = await handle(store, `deal-${dealId}`, decide, expectedStreamVersion === undefined ? undefined : { expectedStreamVersion });
      return { version: contractVersion(result.nextExpectedStreamVersion), state: result.newState };
    },
  };
}

/** The Express app on Emmett-PostgreSQL in a process of its own, on a fresh database dropped on stop. */
export async function startEmmettPostgresqlHttp(options: { apiKey?: string; url?: string } = {}): Promise<BaselineServer> {
  const adminUrl = options.url ?? postgresqlUrl;
  const database = `bench_emmett_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${database}`)).catch((error: unknown) => {
    throw new Error(`no PostgreSQL at ${new URL(adminUrl).host} (${error instanceof Error ? error.message : String(error)})`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return startServerProcess('baselines/emmett-postgresql.ts', [url.toString(), options.apiKey ?? benchApiKey], async () => {
    await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });
}

if (require.main === module && process.argv[2] === 'serve') {
  const [url, apiKey] = process.argv.slice(3);
  if (!url || !apiKey) throw new Error('usage: emmett-postgresql.ts serve <connection string> <api key>');
  const store = getPostgreSQLEventStore(url);
  // The schema is created before the first request, so 64 clients do not race to create it.
  void store.schema.migrate().then(() => serve(createServer(emmettDealApp(emmettPostgresqlStreams(store), apiKey, serverErrorReporter())), () => store.close()));
}
