import { seededRandom } from '@deals/platform';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DealCommand, type DealEvent, decide, type DealState, evolve, initialDealState } from '@deals/domain';
import { dealStreamId, toEventToAppend } from '@deals/deal-streams';
import { EmbeddedEventStore } from '@deals/event-store';
import { dayMs } from '@deals/projections';
import { v5 as uuidv5 } from 'uuid';

const namespace = '0d5c7a4e-2b1f-4c8e-9a63-7e4b2d1c9f05';
const owners = Array.from({ length: 24 }, (_, i) => `owner-${String(i + 1).padStart(2, '0')}`);
const sources = ['web', 'referral', 'event', 'outbound', 'partner', 'webinar'];

/**
 * One deal's life as a real pipeline has it: most leads qualify, fewer get a proposal, negotiation
 * takes zero to four rounds and sometimes a revised proposal, about a third of closed deals are won,
 * closed deals get follow-ups, and recent deals are still open. Events come from the real decider.
 */
function dealHistory(index: number, next: () => number, now: number): { dealId: string; events: DealEvent[] } {
  const dealId = uuidv5(`deal-${index}`, namespace);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const currency = next() < 0.7 ? 'EUR' : next() < 0.85 ? 'USD' : 'GBP';
  let at = now - Math.floor(next() * 730 * dayMs) - 120 * dayMs;
  let amount = Math.round(5_000 + next() * 495_000);
  const commands: DealCommand[] = [];
  const step = (days: number) => {
    at = Math.min(at + Math.round((0.5 + next() * days) * dayMs), now - 1_000);
    return new Date(at).toISOString();
  };
  commands.push({
    type: 'CaptureLead',
    data: {
      dealId,
      title: `Deal ${index}`,
      organization: `Organization ${index % 5_000}`,
      contact: { name: `Contact ${index}`, email: `contact${index}@example.com` },
      source: pick(sources),
      owner: pick(owners),
      estimatedValue: { amount, currency },
    },
    occurredAt: new Date(at).toISOString(),
  });
  const lose = (days: number) => commands.push({ type: 'CloseDeal', data: { outcome: 'lost', reason: 'No budget' }, occurredAt: step(days) });
  const openUntilNow = next() < 0.12;
  if (next() < 0.2) lose(10);
  else {
    commands.push({ type: 'QualifyDeal', data: { budget: true, authority: next() < 0.8, need: true, timeline: next() < 0.7 }, occurredAt: step(8) });
    if (!openUntilNow && next() < 0.25) lose(12);
    else if (!openUntilNow || next() < 0.6) {
      const propose = () => {
        amount = Math.round(amount * (0.9 + next() * 0.2));
        const occurredAt = step(10);
        commands.push({
          type: 'SendProposal',
          data: { amount: { amount, currency }, validUntil: new Date(Date.parse(occurredAt) + 30 * dayMs).toISOString() },
          occurredAt,
        });
      };
      propose();
      const rounds = Math.floor(next() * 5);
      for (let round = 0; round < rounds; round++) {
        amount = Math.round(amount * (0.93 + next() * 0.05));
        commands.push({ type: 'NegotiateDeal', data: { counterAmount: amount, objections: ['price'] }, occurredAt: step(6) });
        if (next() < 0.15) propose();
      }
      if (!openUntilNow) {
        if (next() < 0.45) commands.push({ type: 'CloseDeal', data: { outcome: 'won', finalAmount: amount, reason: 'Signed' }, occurredAt: step(7) });
        else lose(7);
        const followUps = Math.floor(next() * 3);
        for (let i = 0; i < followUps; i++) commands.push({ type: 'RecordFollowUp', data: { channel: 'call', notes: 'Check-in' }, occurredAt: step(20) });
      }
    }
  }
  let state: DealState = initialDealState;
  const events: DealEvent[] = [];
  for (const command of commands) {
    for (const event of decide(command, state, { now: new Date(now) })) {
      events.push(event);
      state = evolve(state, event);
    }
  }
  return { dealId, events };
}

/**
 * Writes (once, then reuses) an embedded event store holding about `targetEvents` events of
 * realistic deals, each deal appended whole, many deals at a time.
 */
export async function ensureDataset(file: string, targetEvents: number, log: (line: string) => void): Promise<{ events: number; deals: number }> {
  const marker = `${file}.complete`;
  if (existsSync(file) && existsSync(marker)) {
    const store = EmbeddedEventStore.open({ path: file });
    let events = 0;
    for await (const last of store.readAll({ direction: 'backwards', maxCount: 1 })) events = Number(last.position.commit);
    await store.close();
    return { events, deals: -1 };
  }
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  const store = EmbeddedEventStore.open({ path: partial });
  const next = seededRandom(targetEvents);
  const now = Date.parse('2026-06-30T00:00:00Z');
  let events = 0;
  let deals = 0;
  const started = performance.now();
  while (events < targetEvents) {
    const wave = Array.from({ length: 256 }, () => dealHistory(deals++, next, now));
    await Promise.all(
      wave.map(({ dealId, events: history }) =>
        store.appendToStream(
          dealStreamId(dealId),
          history.map((event, i) =>
            toEventToAppend(uuidv5(`${dealId}/${i}`, namespace), event, {
              actor: 'bench',
              commandId: uuidv5(`${dealId}/${i}/command`, namespace),
              correlationId: dealId,
              causationId: dealId,
              recordedAt: new Date(now).toISOString(),
            }),
          ),
          { expectedRevision: 'no_stream' },
        ),
      ),
    );
    events += wave.reduce((sum, deal) => sum + deal.events.length, 0);
    if (deals % 25_600 === 0) log(`  writing the data set: ${events} events, ${deals} deals, ${Math.round(events / ((performance.now() - started) / 1000))} events/s`);
  }
  await store.close();
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(partial + suffix)) renameSync(partial + suffix, file + suffix);
  writeFileSync(marker, `${events} events, ${deals} deals\n`);
  return { events, deals };
}
