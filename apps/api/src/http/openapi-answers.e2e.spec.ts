import Ajv from 'ajv';
import { bodies, startTestApp, type TestApp } from '../testing/test-app';

/**
 * The OpenAPI description of each answer is a contract: real answers, from deals driven through
 * their life over a real socket, must match the schema /docs/openapi.json gives for them, every
 * property there and no other (answer-schema.ts).
 */

let api: TestApp;
let openapi: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; components: object };
const dealIds: string[] = [];

async function post(path: string, body: unknown): Promise<{ dealId: string }> {
  const response = await api.request('POST', path, { body });
  if (response.status !== 200 && response.status !== 201) throw new Error(`${path} answered ${response.status}: ${response.text}`);
  return response.body;
}

beforeAll(async () => {
  api = await startTestApp();
  openapi = (await api.request('GET', '/docs/openapi.json', { as: null })).body;
  // A deal won after negotiating, one lost from qualification without notes, one open in lead.
  const won = (await post('/deals', bodies.lead({ owner: 'ann' }))).dealId;
  await post(`/deals/${won}/qualification`, bodies.qualification());
  await post(`/deals/${won}/proposals`, bodies.proposal());
  await post(`/deals/${won}/negotiations`, bodies.negotiation({ winProbability: 70 }));
  await post(`/deals/${won}/closing`, bodies.won());
  await post(`/deals/${won}/follow-ups`, bodies.followUp());
  const lost = (await post('/deals', bodies.lead({ owner: 'ben' }))).dealId;
  await post(`/deals/${lost}/qualification`, bodies.qualification({ notes: undefined }));
  await post(`/deals/${lost}/closing`, bodies.lost());
  const open = (await post('/deals', bodies.lead({ owner: 'ben' }))).dealId;
  dealIds.push(won, lost, open);
  await api.waitForProjections();
});

afterAll(() => api.close());

/** A validator of one answer's schema, its $refs resolved in the description's components, its formats checked. */
function answerValidator(schema: object) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return ajv.compile({ ...schema, components: openapi.components });
}

function expectDescribed(template: string, path: string, body: unknown): void {
  const schema = openapi.paths[template]?.get?.responses['200']?.content?.['application/json']?.schema;
  expect({ template, described: schema !== undefined }).toEqual({ template, described: true });
  const validate = answerValidator(schema!);
  const valid = validate(body);
  expect({ path, errors: valid ? [] : validate.errors }).toEqual({ path, errors: [] });
}

it.each([0, 1, 2])('GET /deals/{id} answers as described (deal %i: won, lost, open)', async (index) => {
  const path = `/deals/${dealIds[index]}`;
  expectDescribed('/deals/{id}', path, (await api.request('GET', path)).body);
});

it.each([0, 1, 2])('GET /deals/{id}/history answers as described (deal %i)', async (index) => {
  const path = `/deals/${dealIds[index]}/history`;
  expectDescribed('/deals/{id}/history', path, (await api.request('GET', path, { as: 'auditor' })).body);
});

it.each([
  '/analytics/cycle-length',
  '/analytics/cycle-length?groupBy=owner',
  '/analytics/cycle-length?basis=period&from=2020-01-01&groupBy=source',
  '/analytics/cycle-length?groupBy=month&asOf=2021-01-01',
])('GET %s answers as described', async (path) => {
  expectDescribed('/analytics/cycle-length', path, (await api.request('GET', path, { as: 'analyst' })).body);
});

it.each(['/pipeline', '/pipeline?owner=ben&rotting=true', '/pipeline?stage=won&limit=1'])('GET %s answers as described', async (path) => {
  expectDescribed('/pipeline', path, (await api.request('GET', path, { as: 'analyst' })).body);
});

it.each(['/audit', `/audit?limit=2&timeField=occurredAt&from=2020-01-01`])('GET %s answers as described', async (path) => {
  expectDescribed('/audit', path, (await api.request('GET', path, { as: 'auditor' })).body);
});

it('the schemas are strict: an answer with a property they do not name fails them', async () => {
  const path = `/deals/${dealIds[0]}`;
  const schema = openapi.paths['/deals/{id}']!.get!.responses['200']!.content!['application/json']!.schema;
  const validate = answerValidator(schema);
  expect(validate({ ...(await api.request('GET', path)).body, surprise: 1 })).toBe(false);
});
