// Emmett 0.42.0 and its PostgreSQL event store. Imported through this folder so that both resolve to the
// emmett installed beside emmett-postgresql (its peer), never to the 0.38.5 of the SQLite pair.
export { CommandHandler, STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
export { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
export { Client as PgClient } from 'pg';
