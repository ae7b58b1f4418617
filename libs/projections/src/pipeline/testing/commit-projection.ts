import type { StoredDealEvent } from '@deals/deal-streams';
import type { JsonObject, ReadModelChange, ReadModelStore } from '@deals/read-models';
import type { Projection } from '../../projection';

/**
 * Feeds events through a projection into a real store the way the runner does: per batch, load
 * the documents the events read with one getMany per collection, let each event see the changes before it, and
 * commit the batch's changes with the checkpoint. For integration tests of the queries.
 */
export async function commitProjection(store: ReadModelStore, projection: Projection, events: readonly StoredDealEvent[], batchSize = 100): Promise<void> {
  let processed = (await store.checkpoint(projection.name))?.eventsProcessed ?? 0;
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = events.slice(start, start + batchSize);
    const documents = new Map<string, JsonObject | undefined>();
    const idsByCollection = new Map<string, Set<string>>();
    for (const ref of batch.flatMap((event) => projection.reads(event))) {
      idsByCollection.set(ref.collection, (idsByCollection.get(ref.collection) ?? new Set()).add(ref.id));
    }
    for (const [collection, idSet] of idsByCollection) {
      const ids = [...idSet];
      const loaded = await store.getMany(collection, ids);
      ids.forEach((id, index) => documents.set(`${collection}\u0000${id}`, loaded[index]));
    }
    const changes: ReadModelChange[] = [];
    for (const event of batch) {
      const eventChanges = projection.project(event, { get: (collection, id) => documents.get(`${collection}\u0000${id}`) });
      for (const change of eventChanges) {
        if (change.kind === 'put') documents.set(`${change.collection}\u0000${change.id}`, change.document);
        if (change.kind === 'delete') documents.set(`${change.collection}\u0000${change.id}`, undefined);
      }
      changes.push(...eventChanges);
    }
    processed += batch.length;
    const last = batch.at(-1)!;
    await store.commit(projection.name, changes, { position: last.position, eventsProcessed: processed, lastRecordedAt: last.metadata.recordedAt });
  }
}
