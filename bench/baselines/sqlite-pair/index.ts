// Emmett 0.38.5 and its SQLite event store. Imported through this folder so that both resolve to the
// emmett installed beside emmett-sqlite (its peer), never to the 0.42.0 of the PostgreSQL pair.
export { CommandHandler, STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
export { getSQLiteEventStore, type SQLiteEventStore } from '@event-driven-io/emmett-sqlite';
