import { randomUUID } from 'node:crypto';
import type { EventStore } from '@deals/event-store';
import { EVENT_STORE } from '../infrastructure/tokens';
import { bodies, type RequestOptions, startTestApp, type TestApp, type TestResponse } from '../testing/test-app';

/**
 * What an outside user can throw at the command endpoints. Every refusal must be a 4xx with the
 * error shape `{ statusCode, code, message, details? }`, name each bad field by its path, and leave
 * the store exactly as it was: no new event on the deal, no new deal.
 */

type Body = Record<string, unknown>;
type Endpoint = 'capture' | 'qualification' | 'proposals' | 'negotiations' | 'closing' | 'follow-ups';
type Stage = 'lead' | 'qualified' | 'proposal' | 'closed';

interface TextField {
  /** Where the text goes in the body (and in the event's data). */
  readonly path: string;
  /** The field the error names (an element of `objections` is named `objections`). */
  readonly field: string;
  readonly max: number;
  readonly multiline: boolean;
  readonly required: boolean;
}

interface EndpointSpec {
  readonly route: string;
  /** The stage the endpoint's command applies to; none for a capture. */
  readonly stage?: Stage;
  readonly valid: () => Body;
  readonly texts: readonly TextField[];
}

const text = (path: string, max: number, multiline: boolean, required: boolean, field = path): TextField => ({
  path,
  field,
  max,
  multiline,
  required,
});

const endpoints: Record<Endpoint, EndpointSpec> = {
  capture: {
    route: 'POST /deals',
    valid: () => bodies.lead(),
    texts: [
      text('title', 200, false, true),
      text('organization', 200, false, true),
      text('contact.name', 200, false, true),
      text('source', 100, false, true),
      text('owner', 100, false, true),
    ],
  },
  qualification: {
    route: 'POST /deals/:id/qualification',
    stage: 'lead',
    valid: () => bodies.qualification(),
    texts: [text('notes', 5000, true, false)],
  },
  proposals: {
    route: 'POST /deals/:id/proposals',
    stage: 'qualified',
    valid: () => bodies.proposal(),
    texts: [text('terms', 5000, true, false)],
  },
  negotiations: {
    route: 'POST /deals/:id/negotiations',
    stage: 'proposal',
    valid: () => bodies.negotiation(),
    texts: [text('notes', 5000, true, false), text('objections.0', 1000, false, false, 'objections')],
  },
  closing: {
    route: 'POST /deals/:id/closing',
    stage: 'proposal',
    valid: () => bodies.won(),
    texts: [text('reason', 2000, true, true)],
  },
  'follow-ups': {
    route: 'POST /deals/:id/follow-ups',
    stage: 'closed',
    valid: () => bodies.followUp(),
    texts: [text('notes', 5000, true, true)],
  },
};
const allEndpoints = Object.keys(endpoints) as Endpoint[];
const dealEndpoints = allEndpoints.filter((endpoint) => endpoint !== 'capture');

// ---------------------------------------------------------------------------------------------
// Bodies

function clone(body: Body): Body {
  return structuredClone(body);
}

/** The body with `value` at a dotted path (`contact.email`, `objections.0`). */
function withValue(body: Body, path: string, value: unknown): Body {
  const copy = clone(body);
  const keys = path.split('.');
  let node = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return copy;
}

function without(body: Body, path: string): Body {
  const copy = clone(body);
  const keys = path.split('.');
  let node = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[keys.at(-1)!];
  return copy;
}

function valueAt(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], data);
}

/** The body as raw JSON, with `raw` spliced in verbatim at a path (for numbers JSON.stringify cannot write). */
function rawWith(body: Body, path: string, raw: string): string {
  return JSON.stringify(withValue(body, path, '__RAW__')).replace('"__RAW__"', raw);
}

/** The body's UTF-8 with raw bytes in place of a text field's value: bytes no JSON string can carry. */
function bytesWith(body: Body, path: string, bytes: readonly number[]): Buffer {
  const [before = '', after = ''] = rawWith(body, path, '"__BYTES__"').split('__BYTES__');
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
}

/** Adds raw JSON members right after the opening brace. */
function rawPrepend(body: Body, members: string): string {
  return JSON.stringify(body).replace(/^\{/, `{${members},`);
}

/** A short, printable form of a value for a test's name. */
function shown(value: unknown): string {
  if (typeof value === 'string' && value.length > 40) return `${JSON.stringify(value.slice(0, 10))}… (${value.length} chars)`;
  if (Array.isArray(value) && value.length > 5) return `[${value.length} items]`;
  return JSON.stringify(value) ?? String(value);
}

// ---------------------------------------------------------------------------------------------
// The app, its deals, and what "changed nothing" means

const T = {
  captured: '2025-06-01T09:00:00.000Z',
  qualified: '2025-06-02T09:00:00.000Z',
  proposed: '2025-06-03T09:00:00.000Z',
  closed: '2025-06-02T09:00:00.000Z',
};

let api: TestApp;
let store: EventStore;
/** One deal per endpoint, in the stage its command applies to; refused commands must leave it as it is. */
const targets = {} as Record<Endpoint, string | undefined>;

beforeAll(async () => {
  api = await startTestApp();
  store = api.app.get<EventStore>(EVENT_STORE);
  const byStage = {
    lead: await dealAt('lead', true),
    qualified: await dealAt('qualified', true),
    proposal: await dealAt('proposal', true),
    closed: await dealAt('closed', true),
  };
  for (const endpoint of allEndpoints) {
    const { stage } = endpoints[endpoint];
    targets[endpoint] = stage === undefined ? undefined : byStage[stage];
  }
});

afterAll(async () => {
  await api.close();
});

async function send(path: string, options: RequestOptions, expectedStatus: number): Promise<TestResponse> {
  const response = await api.request('POST', path, options);
  if (response.status !== expectedStatus) throw new Error(`${path} answered ${response.status}: ${response.text}`);
  return response;
}

/** A new deal in a stage; with `past`, every step has an occurredAt in mid-2025. */
async function dealAt(stage: Stage, past = false): Promise<string> {
  const at = (time: string) => (past ? { occurredAt: time } : {});
  const { body } = await send('/deals', { body: bodies.lead(at(T.captured)) }, 201);
  const dealId: string = body.dealId;
  if (stage === 'closed') {
    await send(`/deals/${dealId}/closing`, { body: bodies.lost(at(T.closed)) }, 200);
    return dealId;
  }
  if (stage === 'lead') return dealId;
  await send(`/deals/${dealId}/qualification`, { body: bodies.qualification(at(T.qualified)) }, 200);
  if (stage === 'qualified') return dealId;
  await send(`/deals/${dealId}/proposals`, { body: bodies.proposal(at(T.proposed)) }, 200);
  return dealId;
}

function pathFor(endpoint: Endpoint, dealId = targets[endpoint]): string {
  return endpoint === 'capture' ? '/deals' : `/deals/${dealId}/${endpoint}`;
}

/** The store's last global position, and the target deal's version and history. */
async function snapshot(dealId: string | undefined) {
  let head = 0n;
  for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 })) head = event.position.commit;
  if (dealId === undefined) return { head };
  const [deal, history] = await Promise.all([
    api.request('GET', `/deals/${dealId}`),
    api.request('GET', `/deals/${dealId}/history`),
  ]);
  return {
    head,
    version: deal.body.version,
    history: history.body.entries.map((entry: { eventId: string; version: number }) => `${entry.version}:${entry.eventId}`),
  };
}

interface Refusal {
  readonly status: number;
  readonly code: string;
  /** For VALIDATION_FAILED: exactly the fields `details` must name. */
  readonly fields?: readonly string[];
}

const validationFailed = (...fields: string[]): Refusal => ({ status: 400, code: 'VALIDATION_FAILED', fields });
const malformedJson: Refusal = { status: 400, code: 'MALFORMED_JSON' };
const notAnObject = validationFailed('body');
const unsupportedMediaType: Refusal = { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
const payloadTooLarge: Refusal = { status: 413, code: 'PAYLOAD_TOO_LARGE' };
const badIdempotencyKey: Refusal = { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' };

function expectErrorShape(response: TestResponse, { status, code, fields }: Refusal): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const { details, ...rest } = response.body;
  expect(rest).toEqual({ statusCode: status, code, message: expect.any(String) });
  expect(rest.message.length).toBeGreaterThan(0);
  if (fields === undefined) return;
  expect(Array.isArray(details)).toBe(true);
  for (const detail of details) {
    expect(detail).toEqual({ field: expect.any(String), problems: expect.any(Array) });
    expect(detail.problems.length).toBeGreaterThan(0);
    for (const problem of detail.problems) expect(typeof problem).toBe('string');
  }
  const named = [...new Set(details.map((detail: { field: string }) => detail.field))].sort();
  expect(named).toEqual([...fields].sort());
}

/** Sends the request, checks the refusal and its shape, and checks that nothing changed. */
async function expectRefused(endpoint: Endpoint, options: RequestOptions, refusal: Refusal, path = pathFor(endpoint)) {
  const before = await snapshot(targets[endpoint]);
  const response = await api.request('POST', path, options);
  expectErrorShape(response, refusal);
  expect(await snapshot(targets[endpoint])).toEqual(before);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Bodies that are not a JSON object of the contract, on every endpoint

interface BodyCase {
  readonly label: string;
  readonly request: (valid: Body, endpoint: Endpoint) => RequestOptions;
  readonly refusal: Refusal;
  /** When the fields named depend on the endpoint. */
  readonly fieldsFor?: (endpoint: Endpoint) => string[];
}

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const firstText = (endpoint: Endpoint) => endpoints[endpoint].texts[0]!;

/** A body of exactly `bytes` bytes: the valid body plus an unknown `padding` field. */
function paddedTo(valid: Body, bytes: number): string {
  const empty = JSON.stringify({ ...valid, padding: '' });
  return JSON.stringify({ ...valid, padding: 'x'.repeat(bytes - Buffer.byteLength(empty)) });
}

const bodyCases: BodyCase[] = [
  { label: 'truncated JSON', request: (valid) => ({ rawBody: JSON.stringify(valid).slice(0, -7) }), refusal: malformedJson },
  { label: 'a trailing comma', request: (valid) => ({ rawBody: JSON.stringify(valid).replace(/\}$/, ',}') }), refusal: malformedJson },
  { label: '{"a":}', request: () => ({ rawBody: '{"a":}' }), refusal: malformedJson },
  { label: 'single-quoted JSON', request: () => ({ rawBody: "{'title': 'Acme'}" }), refusal: malformedJson },
  { label: 'JSON with a comment', request: (valid) => ({ rawBody: `/* x */${JSON.stringify(valid)}` }), refusal: malformedJson },
  { label: 'NaN as a value', request: () => ({ rawBody: '{"amount": NaN}' }), refusal: malformedJson },
  { label: 'two JSON documents', request: (valid) => ({ rawBody: JSON.stringify(valid).repeat(2) }), refusal: malformedJson },
  { label: 'an empty body sent as JSON', request: () => ({ rawBody: '' }), refusal: malformedJson },
  { label: 'a body of spaces sent as JSON', request: () => ({ rawBody: '   ' }), refusal: malformedJson },
  { label: 'no body at all', request: () => ({}), refusal: notAnObject },
  { label: 'a JSON array', request: (valid) => ({ rawBody: JSON.stringify([valid]) }), refusal: notAnObject },
  { label: 'an empty JSON array', request: () => ({ rawBody: '[]' }), refusal: notAnObject },
  { label: 'a JSON string', request: (valid) => ({ rawBody: JSON.stringify(JSON.stringify(valid)) }), refusal: notAnObject },
  { label: 'a JSON number', request: () => ({ rawBody: '42' }), refusal: notAnObject },
  { label: 'JSON null', request: () => ({ rawBody: 'null' }), refusal: notAnObject },
  { label: 'JSON true', request: () => ({ rawBody: 'true' }), refusal: notAnObject },
  {
    label: 'valid JSON sent as text/plain',
    request: (valid) => ({ rawBody: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } }),
    refusal: unsupportedMediaType,
  },
  {
    label: 'a form-encoded body',
    request: () => ({ rawBody: 'title=Acme&budget=true', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    refusal: unsupportedMediaType,
  },
  {
    label: 'a multipart body',
    request: () => ({
      rawBody: '--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nAcme\r\n--b--\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    }),
    refusal: unsupportedMediaType,
  },
  {
    label: 'a body exactly at the size limit (refused only for its unknown padding field)',
    request: (valid) => ({ rawBody: paddedTo(valid, api.config.bodyLimitBytes) }),
    refusal: validationFailed('padding'),
  },
  {
    label: 'a body one byte over the size limit',
    request: (valid) => ({ rawBody: paddedTo(valid, api.config.bodyLimitBytes + 1) }),
    refusal: payloadTooLarge,
  },
  {
    label: 'a 1 MB string in a text field',
    request: (valid, endpoint) => ({ body: withValue(valid, firstText(endpoint).path, 'x'.repeat(1024 * 1024)) }),
    refusal: payloadTooLarge,
  },
  {
    label: 'arrays nested 10,000 deep in an unknown field',
    request: (valid) => ({ rawBody: rawPrepend(valid, `"nested":${deepArray(10_000)}`) }),
    refusal: validationFailed('nested'),
  },
  {
    label: 'objects nested 1,000 deep in an unknown field',
    request: (valid) => ({ rawBody: rawPrepend(valid, `"nested":${deepObject(1_000)}`) }),
    refusal: validationFailed('nested'),
  },
  {
    label: 'arrays nested 10,000 deep in a text field',
    request: (valid, endpoint) => ({ rawBody: rawWith(valid, firstText(endpoint).path, deepArray(10_000)) }),
    refusal: validationFailed(),
    fieldsFor: (endpoint) => [firstText(endpoint).path.split('.')[0]!],
  },
  {
    label: 'a body that is itself nested 10,000 deep',
    request: () => ({ rawBody: deepArray(10_000) }),
    refusal: notAnObject,
  },
  {
    label: 'bytes that are not UTF-8 in a text field',
    request: (valid, endpoint) => ({ rawBody: bytesWith(valid, firstText(endpoint).path, [0x42, 0xff, 0xfe, 0x42]) }),
    refusal: malformedJson,
  },
  {
    label: 'a UTF-16 surrogate encoded as UTF-8 bytes (CESU-8) in a text field',
    request: (valid, endpoint) => ({ rawBody: bytesWith(valid, firstText(endpoint).path, [0xed, 0xa0, 0x80]) }),
    refusal: malformedJson,
  },
  {
    label: 'a body in UTF-16',
    request: (valid) => ({ rawBody: Buffer.from(JSON.stringify(valid), 'utf16le') }),
    refusal: malformedJson,
  },
  {
    label: 'a __proto__ key',
    request: (valid) => ({ rawBody: rawPrepend(valid, '"__proto__":{"isAdmin":true}') }),
    refusal: malformedJson,
  },
  {
    label: 'a constructor.prototype key',
    request: (valid) => ({ rawBody: rawPrepend(valid, '"constructor":{"prototype":{"isAdmin":true}}') }),
    refusal: malformedJson,
  },
  { label: 'a constructor key', request: (valid) => ({ body: { ...valid, constructor: 'Object' } }), refusal: validationFailed('constructor') },
  { label: 'a toString key', request: (valid) => ({ body: { ...valid, toString: 'x' } }), refusal: validationFailed('toString') },
  {
    label: 'a hasOwnProperty key',
    request: (valid) => ({ body: { ...valid, hasOwnProperty: { x: 1 } } }),
    refusal: validationFailed('hasOwnProperty'),
  },
  { label: 'an unknown field (actor)', request: (valid) => ({ body: { ...valid, actor: 'mallory' } }), refusal: validationFailed('actor') },
  {
    label: 'unknown fields (dealId, version, stage)',
    request: (valid) => ({ body: { ...valid, dealId: randomUUID(), version: 7, stage: 'won' } }),
    refusal: validationFailed('dealId', 'version', 'stage'),
  },
  {
    label: 'an Idempotency-Key of 256 characters',
    request: (valid) => ({ body: valid, headers: { 'idempotency-key': 'k'.repeat(256) } }),
    refusal: badIdempotencyKey,
  },
  {
    label: 'a non-ASCII Idempotency-Key',
    request: (valid) => ({ body: valid, headers: { 'idempotency-key': 'clé-42' } }),
    refusal: badIdempotencyKey,
  },
  {
    label: 'an Idempotency-Key with a space',
    request: (valid) => ({ body: valid, headers: { 'idempotency-key': 'my key' } }),
    refusal: badIdempotencyKey,
  },
  {
    label: 'an empty Idempotency-Key',
    request: (valid) => ({ body: valid, headers: { 'idempotency-key': '' } }),
    refusal: badIdempotencyKey,
  },
];

/** Hostile input that only makes sense on one endpoint's shape. */
const endpointBodyCases: Partial<Record<Endpoint, BodyCase[]>> = {
  capture: [
    {
      label: 'a __proto__ key inside contact',
      request: (valid) => ({ rawBody: JSON.stringify(valid).replace('"contact":{', '"contact":{"__proto__":{"x":1},') }),
      refusal: malformedJson,
    },
    {
      label: 'a constructor key inside contact',
      request: (valid) => ({ body: withValue(valid, 'contact.constructor', 'x') }),
      refusal: validationFailed('contact.constructor'),
    },
    {
      label: 'a toString key inside estimatedValue',
      request: (valid) => ({ body: withValue(valid, 'estimatedValue.toString', 'x') }),
      refusal: validationFailed('estimatedValue.toString'),
    },
    {
      label: '1e400 as the estimated amount',
      request: (valid) => ({ rawBody: rawWith(valid, 'estimatedValue.amount', '1e400') }),
      refusal: validationFailed('estimatedValue.amount'),
    },
    {
      label: '-1e400 as the estimated amount',
      request: (valid) => ({ rawBody: rawWith(valid, 'estimatedValue.amount', '-1e400') }),
      refusal: validationFailed('estimatedValue.amount'),
    },
    {
      label: 'a 30-digit estimated amount',
      request: (valid) => ({ rawBody: rawWith(valid, 'estimatedValue.amount', '123456789012345678901234567890') }),
      refusal: validationFailed('estimatedValue.amount'),
    },
  ],
  proposals: [
    { label: '1e400 as the amount', request: (valid) => ({ rawBody: rawWith(valid, 'amount', '1e400') }), refusal: validationFailed('amount') },
  ],
  negotiations: [
    {
      label: 'a __proto__ key inside counterAmount',
      request: () => ({ rawBody: '{"counterAmount":{"amount":1,"currency":"EUR","__proto__":{"x":1}}}' }),
      refusal: malformedJson,
    },
    {
      label: 'a constructor key inside counterAmount',
      request: (valid) => ({ body: withValue(valid, 'counterAmount', { amount: 1, currency: 'EUR', constructor: 'x' }) }),
      refusal: validationFailed('counterAmount.constructor'),
    },
    {
      label: '1e400 as the counter amount',
      request: (valid) => ({ rawBody: rawWith(valid, 'counterAmount', '1e400') }),
      refusal: validationFailed('counterAmount'),
    },
    {
      label: '1e400 as the discount',
      request: (valid) => ({ rawBody: rawWith(valid, 'discountPercent', '1e400') }),
      refusal: validationFailed('discountPercent'),
    },
  ],
  closing: [
    {
      label: '1e400 as the final amount',
      request: (valid) => ({ rawBody: rawWith(valid, 'finalAmount', '1e400') }),
      refusal: validationFailed('finalAmount'),
    },
  ],
};

describe.each(allEndpoints.map((endpoint) => [endpoints[endpoint].route, endpoint] as const))(
  '%s refuses a body that is not a contract JSON object',
  (_route, endpoint) => {
    it.each([...bodyCases, ...(endpointBodyCases[endpoint] ?? [])])(
      '$label → $refusal.status $refusal.code, and changes nothing',
      async ({ request, refusal, fieldsFor }) => {
        const expected = fieldsFor ? { ...refusal, fields: fieldsFor(endpoint) } : refusal;
        await expectRefused(endpoint, request(endpoints[endpoint].valid(), endpoint), expected);
      },
    );
  },
);

it.each([['a string', 'Ada <ada@acme.example>'], ['a list', []], ['a number', 42]])('a contact that is %s gets one problem, that it must be an object', async (_label, contact) => {
  const response = await api.request('POST', '/deals', { body: bodies.lead({ contact }) });
  expect(response.body.details).toEqual([{ field: 'contact', problems: ['contact must be an object'] }]);
});

describe('MALFORMED_JSON says in details.reason what is wrong', () => {
  it.each<[string, string | Uint8Array, RegExp]>([
    ['where the JSON broke', '{"title":"Acme",}', /property name in JSON at position 16/],
    ['that the body ended early', '{"title":', /end of JSON input/],
    ['a __proto__ key', '{"__proto__":{"isAdmin":true}}', /__proto__ or constructor\.prototype key/],
    ['a constructor.prototype key', '{"constructor":{"prototype":{"isAdmin":true}}}', /__proto__ or constructor\.prototype key/],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), /not UTF-8/],
  ])('%s', async (_label, rawBody, reason) => {
    const response = await api.request('POST', '/deals', { rawBody });
    expect({ status: response.status, code: response.body?.code }).toEqual({ status: 400, code: 'MALFORMED_JSON' });
    expect(response.body.details.reason).toMatch(reason);
  });
});

// ---------------------------------------------------------------------------------------------
// Deal ids and headers

const someUuid = '3f0e4a53-9a43-4b8f-9d0c-2e716f1f7c52';
const badIdCases: Array<{ label: string; id: string; refusal: Refusal }> = [
  { label: 'a word', id: 'not-a-uuid', refusal: validationFailed('id') },
  { label: 'a number', id: '12345', refusal: validationFailed('id') },
  { label: 'a UUID with one character too many', id: `${someUuid}0`, refusal: validationFailed('id') },
  { label: 'a UUID without its dashes', id: someUuid.replaceAll('-', ''), refusal: validationFailed('id') },
  { label: 'a UUID in braces', id: encodeURIComponent(`{${someUuid}}`), refusal: validationFailed('id') },
  { label: 'SQL', id: encodeURIComponent("1' OR '1'='1"), refusal: validationFailed('id') },
  { label: 'an encoded path traversal', id: '..%2F..%2Fhealth', refusal: validationFailed('id') },
  { label: 'an id of 200 characters', id: 'a'.repeat(200), refusal: validationFailed('id') },
  { label: 'an id of 201 characters', id: 'a'.repeat(201), refusal: { status: 414, code: 'URI_TOO_LONG' } },
  { label: 'an id of 10,000 characters', id: 'a'.repeat(10_000), refusal: { status: 414, code: 'URI_TOO_LONG' } },
  { label: 'a broken percent-encoding', id: '%E0%A4%A', refusal: { status: 400, code: 'BAD_URL' } },
  { label: 'an unknown UUID', id: randomUUID(), refusal: { status: 404, code: 'DEAL_NOT_FOUND' } },
  { label: 'an unknown UUID in capitals', id: randomUUID().toUpperCase(), refusal: { status: 404, code: 'DEAL_NOT_FOUND' } },
];

const badIfMatchCases = ['abc', '-1', '1.5', 'W/"0"', '"0', '0, 1', '99999999999999999999'];

describe.each(dealEndpoints.map((endpoint) => [endpoints[endpoint].route, endpoint] as const))(
  '%s refuses a bad deal id or header',
  (_route, endpoint) => {
    it.each(badIdCases)('an id that is $label → $refusal.status $refusal.code, and creates nothing', async ({ id, refusal }) => {
      await expectRefused(endpoint, { body: endpoints[endpoint].valid() }, refusal, pathFor(endpoint, id));
    });

    it.each(badIfMatchCases)('If-Match %j → 400 INVALID_IF_MATCH', async (ifMatch) => {
      await expectRefused(
        endpoint,
        { body: endpoints[endpoint].valid(), headers: { 'if-match': ifMatch } },
        { status: 400, code: 'INVALID_IF_MATCH' },
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Fields of the wrong type, out of range, missing or unknown

interface FieldCase {
  readonly endpoint: Endpoint;
  readonly route: string;
  readonly path: string;
  readonly value: unknown;
  readonly shown: string;
  readonly fields: readonly string[];
  /** The body to start from, when not the endpoint's valid one. */
  readonly base?: () => Body;
}

const missing = Symbol('missing');
const fieldCases: FieldCase[] = [];

function refuse(
  endpoint: Endpoint,
  path: string,
  values: readonly unknown[],
  options: { field?: string; base?: () => Body; note?: string } = {},
) {
  for (const value of values) {
    fieldCases.push({
      endpoint,
      route: endpoints[endpoint].route,
      path,
      value,
      shown: `${value === missing ? '(missing)' : shown(value)}${options.note ?? ''}`,
      fields: [options.field ?? path],
      ...(options.base ? { base: options.base } : {}),
    });
  }
}

const notText = [42, true, { text: 'x' }, ['x'], null];
const badText = ({ max, multiline }: TextField) => [
  '',
  '   ',
  'x'.repeat(max + 1),
  'nul \u0000 byte',
  'bell \u0007',
  'escape \u001b[31m red',
  'del \u007f',
  'lone \ud800 high surrogate',
  'lone \udc00 low surrogate',
  'next line \u0085 (a C1 control)',
  'csi \u009b (a C1 control)',
  '\u200b\u200b\u200b',
  '\ufeff \u00a0\u2060',
  '\u{1F600}'.repeat(max + 1),
  ...(multiline ? [] : ['two\nlines', 'carriage\rreturn', 'tab\tseparated', 'line\u2028separator', 'paragraph\u2029separator']),
];
const amounts = ['48000', -1, -0.0001, 1_000_000_000_001, 1e15, 1.00001, 0.12345, 0.30000000000000004, 1e-7, true, null, {}, []];
const currencies = ['EURO', 'eur', 'Eur', 'XXX', 'EU', '', '€', 'EUR ', 42, null];
const times = [
  'yesterday',
  'now',
  '2026-02-30',
  '2026-02-29',
  '2025-02-29T10:00:00Z',
  '2026-13-01',
  '2026-00-10',
  '2026-03-01T10:00:00',
  '2026-03-01 10:00:00Z',
  '2026-03-01T25:00:00Z',
  '2026-03-01T10:61:00Z',
  '0001-01-01',
  '0001-01-01T00:00:00Z',
  '1969-12-31',
  '1969-12-31T23:59:59Z',
  '+002026-03-01T10:00:00Z',
  '10000-01-01T00:00:00Z',
  '20260301',
  'Sun, 01 Mar 2026 10:00:00 GMT',
  1767225600000,
  '',
  true,
  null,
];

for (const endpoint of allEndpoints) {
  for (const field of endpoints[endpoint].texts) {
    refuse(endpoint, field.path, [...notText, ...badText(field)], { field: field.field });
    if (field.required) refuse(endpoint, field.path, [missing]);
  }
  refuse(endpoint, 'occurredAt', times);
}

refuse('capture', 'contact', ['Ada <ada@acme.example>', 42, null, [], true, missing]);
refuse('capture', 'contact.email', [
  'not-an-email',
  'ada@',
  '@acme.example',
  'ada@acme',
  'ada@@acme.example',
  'ada lovelace@acme.example',
  'ada@acme.example\n',
  'ada@acme.example; DROP TABLE events',
  `${'a'.repeat(64)}@${'b'.repeat(186)}.example`,
  '',
  42,
  null,
  ['ada@acme.example'],
  missing,
]);
refuse('capture', 'contact.phone', ['+33 1 23 45 67 89']);
refuse('capture', 'estimatedValue', [48000, '48000 EUR', null, [], true, missing]);
refuse('capture', 'estimatedValue.amount', [...amounts, missing]);
refuse('capture', 'estimatedValue.currency', [...currencies, missing]);
refuse('capture', 'estimatedValue.rate', [1.1]);

for (const flag of ['budget', 'authority', 'need', 'timeline']) {
  refuse('qualification', flag, ['true', 'false', 1, 0, null, 'yes', {}, [], missing]);
}

refuse('proposals', 'amount', [...amounts, { amount: 52000, currency: 'EUR' }, missing]);
refuse('proposals', 'currency', [...currencies, missing]);
refuse('proposals', 'validUntil', ['next month', '2026-02-30', '2026-03-01T10:00:00', '1969-12-31', '01/03/2026', 1767225600000, null, '', missing]);

refuse('negotiations', 'counterAmount', [
  '47000',
  -1,
  1_000_000_000_001,
  1.00001,
  true,
  [47000],
  null,
  {},
  { amount: 47000 },
  { currency: 'EUR' },
  { amount: 47000, currency: 'EURO' },
  { amount: 47000, currency: 'eur' },
  { amount: '47000', currency: 'EUR' },
  { amount: -1, currency: 'EUR' },
  { amount: 47000, currency: 'EUR', rate: 1.1 },
]);
refuse('negotiations', 'discountPercent', ['5', -0.5, 100.01, 7.555, 1e-7, 0.30000000000000004, true, null, [5], {}]);
refuse('negotiations', 'objections', [
  'price',
  [42],
  [''],
  ['   '],
  ['x'.repeat(1001)],
  Array.from({ length: 51 }, () => 'price'),
  [['price']],
  [{ text: 'price' }],
  [null],
  null,
  { 0: 'price' },
]);

refuse('closing', 'outcome', ['WON', 'Won', 'draw', 'closed', '', true, 1, null, ['won'], missing]);
refuse('closing', 'finalAmount', ['49500', -1, 1.00001, null, true, {}, { amount: 49500 }, { amount: 49500, currency: 'eur' }, missing]);
refuse('closing', 'finalAmount', ['49500', -1, null], { base: () => bodies.lost(), note: ' on a loss' });

refuse('follow-ups', 'channel', ['sms', 'EMAIL', 'Email', 'e-mail', '', 42, null, ['email'], missing]);

describe('Fields of the wrong type, out of range, missing or unknown', () => {
  it.each(fieldCases)(
    '$route: $path = $shown → 400 VALIDATION_FAILED naming $fields, and changes nothing',
    async ({ endpoint, path, value, fields, base }) => {
      const start = base ? base() : endpoints[endpoint].valid();
      const body = value === missing ? without(start, path) : withValue(start, path, value);
      await expectRefused(endpoint, { body }, validationFailed(...fields));
    },
  );

  it.each([
    {
      endpoint: 'capture' as Endpoint,
      body: { ...bodies.lead({ title: 42, estimatedValue: { amount: -1, currency: 'eur' }, surprise: true }), contact: { name: 'Ada', email: 'nope' } },
      fields: ['title', 'contact.email', 'estimatedValue.amount', 'estimatedValue.currency', 'surprise'],
    },
    { endpoint: 'capture' as Endpoint, body: {}, fields: ['title', 'organization', 'contact', 'source', 'owner', 'estimatedValue'] },
    { endpoint: 'qualification' as Endpoint, body: { budget: 'yes', authority: 1, need: true, notes: 42, extra: 1 }, fields: ['budget', 'authority', 'timeline', 'notes', 'extra'] },
    { endpoint: 'qualification' as Endpoint, body: {}, fields: ['budget', 'authority', 'need', 'timeline'] },
    { endpoint: 'proposals' as Endpoint, body: { amount: '1', currency: 'eur', validUntil: 'soon' }, fields: ['amount', 'currency', 'validUntil'] },
    { endpoint: 'proposals' as Endpoint, body: {}, fields: ['amount', 'currency', 'validUntil'] },
    { endpoint: 'negotiations' as Endpoint, body: { counterAmount: '1', discountPercent: 101, objections: 'price', notes: '' }, fields: ['counterAmount', 'discountPercent', 'objections', 'notes'] },
    { endpoint: 'closing' as Endpoint, body: { outcome: 'won', reason: '' }, fields: ['finalAmount', 'reason'] },
    { endpoint: 'closing' as Endpoint, body: {}, fields: ['outcome', 'reason'] },
    { endpoint: 'follow-ups' as Endpoint, body: { channel: 'sms' }, fields: ['channel', 'notes'] },
    { endpoint: 'follow-ups' as Endpoint, body: {}, fields: ['channel', 'notes'] },
  ])('$endpoint: names every bad field at once ($fields)', async ({ endpoint, body, fields }) => {
    await expectRefused(endpoint, { body }, validationFailed(...fields));
  });

  it('negotiations: names the bad items of a list, not only the list', async () => {
    const dealId = await dealAt('proposal');
    const response = await api.request('POST', `/deals/${dealId}/negotiations`, { body: { objections: ['price', '', 'timing', 'two\nlines'] } });
    expect({ status: response.status, details: response.body.details }).toEqual({
      status: 400,
      details: [{ field: 'objections', problems: ['objections[1], objections[3] must be single-line text of 1 to 1000 characters, not blank, without control characters'] }],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Values the contract parses but the rules refuse

describe('Business time and values the rules refuse', () => {
  const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

  it.each(allEndpoints.map((endpoint) => [endpoints[endpoint].route, endpoint] as const))(
    '%s: occurredAt a minute in the future → 400 OCCURRED_IN_FUTURE',
    async (_route, endpoint) => {
      await expectRefused(endpoint, { body: { ...endpoints[endpoint].valid(), occurredAt: inAMinute() } }, { status: 400, code: 'OCCURRED_IN_FUTURE' });
    },
  );

  it.each(allEndpoints.flatMap((endpoint) => ['9999-01-01', '9999-12-31T23:59:59Z'].map((time) => [endpoints[endpoint].route, time, endpoint] as const)))(
    '%s: occurredAt far in the future (%s) → 400 OCCURRED_IN_FUTURE',
    async (_route, time, endpoint) => {
      await expectRefused(endpoint, { body: { ...endpoints[endpoint].valid(), occurredAt: time } }, { status: 400, code: 'OCCURRED_IN_FUTURE' });
    },
  );

  it.each(dealEndpoints.flatMap((endpoint) => ['2025-05-01T00:00:00Z', '2025-01-01'].map((time) => [endpoints[endpoint].route, time, endpoint] as const)))(
    "%s: occurredAt %s, before the deal's previous event → 409 OCCURRED_BEFORE_PREVIOUS_EVENT",
    async (_route, time, endpoint) => {
      const response = await expectRefused(
        endpoint,
        { body: { ...endpoints[endpoint].valid(), occurredAt: time } },
        { status: 409, code: 'OCCURRED_BEFORE_PREVIOUS_EVENT' },
      );
      expect(response.body.details).toMatchObject({ previousEventOccurredAt: expect.stringMatching(/^2025-06-0/) });
    },
  );

  it('POST /deals/:id/proposals: validUntil before the proposal is sent → 400 VALID_UNTIL_BEFORE_PROPOSAL', async () => {
    await expectRefused(
      'proposals',
      { body: bodies.proposal({ validUntil: '2025-06-05', occurredAt: '2025-06-10T00:00:00Z' }) },
      { status: 400, code: 'VALID_UNTIL_BEFORE_PROPOSAL' },
    );
    await expectRefused('proposals', { body: bodies.proposal({ validUntil: '2025-01-01' }) }, { status: 400, code: 'VALID_UNTIL_BEFORE_PROPOSAL' });
  });

  it.each([{}, { objections: [] }, { occurredAt: '2025-07-01T00:00:00Z' }])(
    'POST /deals/:id/negotiations: a round that records nothing (%j) → 400 EMPTY_NEGOTIATION_ROUND',
    async (body) => {
      await expectRefused('negotiations', { body }, { status: 400, code: 'EMPTY_NEGOTIATION_ROUND' });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Hostile-looking text that is plain data: accepted, stored verbatim

const unicodeTexts = {
  emoji: '🚀 Launch 👩🏽‍💻 for 🇪🇺 ✅',
  'right-to-left text': 'شركة النور للتجارة \u200Fעסקה גדולה',
  'combining characters': 'Zoe\u0308 Cafe\u0301 Z\u0351\u0358a\u0300\u0301l\u0302g\u0303o',
  'CJK and Hangul': '東京の商談 · 서울 거래',
};
const injectionTexts = {
  SQL: "'; DROP TABLE events; --",
  'SQL with a quote': "Robert'); DELETE FROM events WHERE ('1'='1",
  HTML: '<script>alert("x")</script><img src=x onerror=alert(1)>',
  template: '{{7*7}} {% raw %} #{7*7}',
  'JS template': '${process.exit()}',
  'shell and format': '$(rm -rf /) `id` %s%n%x',
  'JSON in a string': '{"$where": "sleep(1000)", "$gt": ""}',
};

const acceptedTextCases = allEndpoints.flatMap((endpoint) =>
  endpoints[endpoint].texts.flatMap((field) =>
    [
      ...Object.entries(unicodeTexts),
      ...Object.entries(injectionTexts),
      ['text of exactly the maximum length', 'x'.repeat(field.max)] as [string, string],
      ...(field.multiline ? [['several lines with tabs', 'First line\nsecond line\r\n\tindented']] : []),
    ].map(([kind, value]) => ({ route: endpoints[endpoint].route, endpoint, path: field.path, kind, value: value! })),
  ),
);

describe('Text that looks hostile but is plain data', () => {
  it.each(acceptedTextCases)(
    '$route accepts $kind in $path and stores it byte for byte',
    async ({ endpoint, path, value }) => {
      const { stage } = endpoints[endpoint];
      const dealId = stage === undefined ? undefined : await dealAt(stage);
      const response = await api.request('POST', pathFor(endpoint, dealId), { body: withValue(endpoints[endpoint].valid(), path, value) });
      expect({ status: response.status, body: response.body }).toEqual({
        status: endpoint === 'capture' ? 201 : 200,
        body: expect.objectContaining({ dealId: dealId ?? expect.any(String) }),
      });
      const history = await api.request('GET', `/deals/${response.body.dealId}/history`);
      const stored = valueAt(history.body.entries.at(-1).data, path);
      expect(stored).toBe(value);
      expect(Buffer.from(String(stored), 'utf8').equals(Buffer.from(value, 'utf8'))).toBe(true);
      if (endpoint === 'capture') {
        const deal = await api.request('GET', `/deals/${response.body.dealId}`);
        expect(valueAt(deal.body, path)).toBe(value);
      }
    },
  );

  it('keeps decomposed and precomposed forms apart (no Unicode normalization)', async () => {
    const decomposed = 'Cafe\u0301';
    const precomposed = 'Caf\u00e9';
    const first = await api.request('POST', '/deals', { body: bodies.lead({ title: decomposed, organization: precomposed }) });
    expect(first.status).toBe(201);
    const history = await api.request('GET', `/deals/${first.body.dealId}/history`);
    const { title, organization } = history.body.entries[0].data;
    expect([title.length, organization.length]).toEqual([5, 4]);
    expect([title, organization]).toEqual([decomposed, precomposed]);
  });
});

describe('Values at the edge of the rules are accepted', () => {
  it.each([
    ['an amount of 0', { estimatedValue: { amount: 0, currency: 'EUR' } }],
    ['an amount of exactly a trillion', { estimatedValue: { amount: 1_000_000_000_000, currency: 'EUR' } }],
    ['an amount with 4 decimals', { estimatedValue: { amount: 12.3456, currency: 'EUR' } }],
    ['an amount with 4 decimals just under a trillion', { estimatedValue: { amount: 999_999_999_999.9999, currency: 'EUR' } }],
    ['a title of 200 emoji (400 UTF-16 units)', { title: '\u{1F600}'.repeat(200) }],
    ['a title with a zero-width joiner and a non-breaking space inside', { title: 'Acme\u00a0\u{1F468}\u200d\u{1F4BB} deal' }],
    ['occurredAt at the Unix epoch', { occurredAt: '1970-01-01T00:00:00Z' }],
    ['occurredAt on a leap day, with an offset', { occurredAt: '2024-02-29T23:30:00-05:00' }],
    ['occurredAt as a plain date', { occurredAt: '2025-03-01' }],
  ])('POST /deals accepts %s', async (_label, overrides) => {
    const response = await api.request('POST', '/deals', { body: bodies.lead(overrides) });
    expect(response.status).toBe(201);
  });

  it('accepts an Idempotency-Key of 255 visible ASCII characters', async () => {
    const key = `${'!~'.repeat(100)}${randomUUID()}`.padEnd(255, 'z');
    expect(key).toHaveLength(255);
    const response = await api.request('POST', '/deals', { body: bodies.lead(), headers: { 'idempotency-key': key } });
    expect(response.status).toBe(201);
  });

  it('accepts a discount of 100 and one with 2 decimals', async () => {
    const dealId = await dealAt('proposal');
    for (const discountPercent of [100, 7.55]) {
      const response = await api.request('POST', `/deals/${dealId}/negotiations`, { body: { discountPercent } });
      expect(response.status).toBe(200);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Idempotency-Key reused with another request

describe.each(allEndpoints.map((endpoint) => [endpoints[endpoint].route, endpoint] as const))(
  '%s with a replayed Idempotency-Key',
  (_route, endpoint) => {
    const changed: Record<Endpoint, (valid: Body) => Body> = {
      capture: (valid) => ({ ...valid, title: 'Another deal' }),
      qualification: (valid) => ({ ...valid, notes: 'changed' }),
      proposals: (valid) => ({ ...valid, amount: 1 }),
      negotiations: (valid) => ({ ...valid, counterAmount: 1 }),
      closing: (valid) => ({ ...valid, reason: 'changed' }),
      'follow-ups': (valid) => ({ ...valid, notes: 'changed' }),
    };

    it('and a different body → 422 IDEMPOTENCY_KEY_REUSED, appending nothing', async () => {
      const { stage } = endpoints[endpoint];
      const dealId = stage === undefined ? undefined : await dealAt(stage);
      const headers = { 'idempotency-key': `reuse-${randomUUID()}` };
      const valid = endpoints[endpoint].valid();
      const first = await api.request('POST', pathFor(endpoint, dealId), { body: valid, headers });
      expect(first.status).toBe(endpoint === 'capture' ? 201 : 200);

      const before = await snapshot(first.body.dealId);
      const other = await api.request('POST', pathFor(endpoint, dealId), { body: changed[endpoint](valid), headers });
      expectErrorShape(other, { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await snapshot(first.body.dealId)).toEqual(before);

      const retry = await api.request('POST', pathFor(endpoint, dealId), { body: valid, headers });
      expect(retry.body).toEqual(first.body);
      expect(await snapshot(first.body.dealId)).toEqual(before);
    });
  },
);

it('refuses one Idempotency-Key used on two different endpoints with 422', async () => {
  const dealId = await dealAt('qualified');
  const headers = { 'idempotency-key': `cross-${randomUUID()}` };
  expect((await api.request('POST', `/deals/${dealId}/qualification`, { body: bodies.qualification(), headers })).status).toBe(200);
  const before = await snapshot(dealId);
  const other = await api.request('POST', `/deals/${dealId}/proposals`, { body: bodies.proposal(), headers });
  expectErrorShape(other, { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  expect(await snapshot(dealId)).toEqual(before);
});

// ---------------------------------------------------------------------------------------------

describe('Requests the HTTP parser refuses before any route', () => {
  it.each([
    ['a URL of 20,000 characters', `GET /pipeline?owner=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a header of 20,000 characters', `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('%s → 431 HEADERS_TOO_LARGE in the error shape, and the connection closes', async (_label, bytes) => {
    const answer = await api.rawExchange(bytes);
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.body).toEqual({ statusCode: 431, code: 'HEADERS_TOO_LARGE', message: expect.any(String) });
  });

  it.each([
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n'],
    ['a header line without a colon', 'GET /health HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /deals HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n'],
  ])('%s → 400 MALFORMED_REQUEST in the error shape', async (_label, bytes) => {
    const answer = await api.rawExchange(bytes);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ statusCode: 400, code: 'MALFORMED_REQUEST', message: expect.any(String) });
  });
});

describe('After all of the above', () => {
  it('the service is healthy, its target deals are untouched, and a normal lifecycle still works', async () => {
    const health = await api.request('GET', '/health', { as: null });
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok', checks: { eventStore: 'up' } } });

    for (const endpoint of dealEndpoints) {
      const history = await api.request('GET', `/deals/${targets[endpoint]}/history`);
      const expectedTypes = {
        lead: ['LeadCaptured'],
        qualified: ['LeadCaptured', 'Qualified'],
        proposal: ['LeadCaptured', 'Qualified', 'ProposalSent'],
        closed: ['LeadCaptured', 'Closed'],
      }[endpoints[endpoint].stage!];
      expect(history.body.entries.map((entry: { type: string }) => entry.type)).toEqual(expectedTypes);
    }

    const dealId = await dealAt('proposal');
    await send(`/deals/${dealId}/negotiations`, { body: bodies.negotiation() }, 200);
    await send(`/deals/${dealId}/closing`, { body: bodies.won() }, 200);
    const followUp = await send(`/deals/${dealId}/follow-ups`, { body: bodies.followUp() }, 200);
    expect(followUp.body).toEqual({ dealId, version: 5, stage: 'won' });
  });
});
