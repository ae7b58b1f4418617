import { describeReadModelStoreConformance } from '@deals/read-models/testing';
import { InMemoryReadModelStore } from './in-memory-read-model';

// The projection and query unit tests trust this double to behave as the real stores do.
describeReadModelStoreConformance('in-memory test double', async () => {
  const store = new InMemoryReadModelStore();
  return { store, cleanup: () => store.close() };
});
