import { csvRow } from '../../../api/src/audit/list-audit-entries/audit-export-format';

const columns = [
  'dealRef', 'step', 'occurredAt', 'title', 'organization', 'contact.name', 'contact.email', 'source', 'owner',
  'estimatedValue.amount', 'estimatedValue.currency', 'budget', 'authority', 'need', 'timeline',
  'amount', 'currency', 'validUntil', 'outcome', 'finalAmount', 'reason', 'channel', 'notes',
] as const;

type Row = Partial<Record<(typeof columns)[number], string>>;

const csvLine = (row: Row): string => csvRow(columns.map((column) => row[column] ?? ''));
const leadOf = (dealRef: string, occurredAt: string, owner: string, source: string, email = `buyer@${dealRef.toLowerCase()}.example`): Row => ({
  dealRef, step: 'lead', occurredAt, title: `Deal ${dealRef}`, organization: `Org ${dealRef}`, 'contact.name': 'Buyer',
  'contact.email': email, source, owner, 'estimatedValue.amount': '10000', 'estimatedValue.currency': 'EUR',
});
const qualify = (dealRef: string, occurredAt: string, notes?: string): Row => ({
  dealRef, step: 'qualification', occurredAt, budget: 'true', authority: 'true', need: 'true', timeline: 'false', ...(notes ? { notes } : {}),
});
const propose = (dealRef: string, occurredAt: string, amount: string): Row => ({ dealRef, step: 'proposal', occurredAt, amount, currency: 'EUR', validUntil: '2025-06-30' });

/**
 * Backdated history of four deals, with bad rows at known lines. Deal D is won on 2025-04-10, after
 * the replay date the rebuild/replay tests use (2025-03-31).
 */
export const historyCsv = [
  csvRow(columns), //                                                                  line 1
  csvLine(leadOf('A', '2025-01-06T09:00:00Z', 'ben', 'referral')), //                  2
  csvLine(qualify('A', '2025-01-10T09:00:00Z')), //                                     3
  csvLine(propose('A', '2025-01-20T09:00:00Z', '12000')), //                            4
  csvLine({ dealRef: 'A', step: 'closing', occurredAt: '2025-02-15T09:00:00Z', outcome: 'won', finalAmount: '11000', reason: 'Signed' }), // 5
  csvLine(leadOf('B', '2025-01-08T09:00:00Z', 'ana', 'web')), //                       6
  csvLine(propose('B', '2025-01-12T09:00:00Z', '8000')), //                             7 NOT_QUALIFIED
  csvLine(leadOf('C', '2025-01-09T09:00:00Z', 'ana', 'web', 'not-an-email')), //       8 contact.email
  csvLine(qualify('C', '2025-01-11T09:00:00Z')), //                                     9 DEAL_NOT_FOUND
  csvLine(qualify('B', '2025-01-14T09:00:00Z')), //                                     10
  csvLine({ dealRef: 'B', step: 'meeting', occurredAt: '2025-01-20T09:00:00Z' }), //    11 step
  csvLine({ dealRef: 'B', step: 'closing', occurredAt: '2025-02-01T09:00:00Z', outcome: 'lost', reason: 'No budget, after all' }), // 12
  csvLine(leadOf('D', '2025-02-01T09:00:00Z', 'ben', 'referral')), //                  13
  csvLine(qualify('D', '2025-02-03T09:00:00Z', 'Met the board, twice.\nThey said "yes".')), // 14-15
  csvLine(propose('D', '2025-02-10T09:00:00Z', '12k')), //                              16 amount
  csvLine(propose('D', '2025-02-11T09:00:00Z', '9000')), //                             17
  csvLine({ dealRef: 'D', step: 'closing', occurredAt: '2025-04-10T09:00:00Z', outcome: 'won', finalAmount: '9000', reason: 'Signed' }), // 18
  'D,follow-up,2025-04-11T09:00:00Z\r\n', //                                            19 wrong field count
  csvLine({ dealRef: 'A', step: 'follow-up', channel: 'call', notes: 'Delivery check' }), // 20 occurredAt
  csvLine({ dealRef: 'A', step: 'follow-up', occurredAt: '2025-03-02T09:00:00Z', channel: 'call', notes: 'Delivery check' }), // 21
].join('');

export const expectedRejections = [
  [7, 'NOT_QUALIFIED'],
  [8, 'VALIDATION_FAILED contact.email'],
  [9, 'DEAL_NOT_FOUND'],
  [11, 'VALIDATION_FAILED step'],
  [16, 'VALIDATION_FAILED amount'],
  [19, 'MALFORMED_ROW'],
  [20, 'VALIDATION_FAILED occurredAt'],
] as const;

/** The date the rebuild and replay tests cut history at: deal D is won after it, A and B closed before. */
export const replayUntil = '2025-03-31T23:59:59Z';
