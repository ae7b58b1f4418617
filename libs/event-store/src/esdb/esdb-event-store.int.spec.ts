import { describeEventStoreConformance } from '../testing/event-store-conformance';
import { EsdbEventStore } from './esdb-event-store';

/**
 * The shared conformance suite against a real EventStoreDB, e.g.
 * ESDB_URL='esdb://localhost:2113?tls=false' npx jest libs/event-store/src/esdb
 * Skipped (and marked so for CI's checker) when ESDB_URL is unset. The suite writes only streams with
 * random names and deletes nothing, so a shared development server is fine.
 */
const url = process.env['ESDB_URL'];

(url ? describe : describe.skip)('EsdbEventStore against EventStoreDB [needs ESDB_URL]', () => {
  describeEventStoreConformance('esdb', async () => {
    const store = EsdbEventStore.connect(url ?? '', { reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } });
    // No `reopen`: the data lives in the server, and a new client changes nothing the suite could check.
    return { store, cleanup: () => store.close() };
  });
});
