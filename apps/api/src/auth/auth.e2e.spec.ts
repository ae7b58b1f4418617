import type { EventStore } from '@deals/event-store';
import { ConfigError, loadConfig, parseApiKeys } from '@deals/platform';
import { EVENT_STORE } from '../infrastructure/tokens';
import { actors, bodies, keys, type RequestOptions, startTestApp, type TestApp, type TestResponse } from '../testing/test-app';

type Role = keyof typeof keys;
type Stage = 'lead' | 'qualified' | 'proposal' | 'closed';

let api: TestApp;
let store: EventStore;

beforeAll(async () => {
  api = await startTestApp();
  store = api.app.get<EventStore>(EVENT_STORE);
});

afterAll(async () => {
  await api.close();
});

async function head(): Promise<bigint> {
  for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 })) return event.position.commit;
  return 0n;
}

async function dealAt(stage: Stage): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const response = await api.request('POST', path, { body });
    if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${response.text}`);
    return response;
  };
  const dealId: string = (await post('/deals', bodies.lead())).body.dealId;
  if (stage === 'closed') {
    await post(`/deals/${dealId}/closing`, bodies.lost());
    return dealId;
  }
  if (stage === 'lead') return dealId;
  await post(`/deals/${dealId}/qualification`, bodies.qualification());
  if (stage === 'qualified') return dealId;
  await post(`/deals/${dealId}/proposals`, bodies.proposal());
  return dealId;
}

function expectError(response: TestResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const { details: _details, ...rest } = response.body;
  expect(rest).toEqual({ statusCode: status, code, message: expect.any(String) });
}

/** Every command, with the stage its deal must be in and a valid body. */
const commands = [
  { route: 'POST /deals', stage: undefined, path: () => '/deals', body: () => bodies.lead(), status: 201 },
  { route: 'POST /deals/:id/qualification', stage: 'lead', path: (id: string) => `/deals/${id}/qualification`, body: () => bodies.qualification(), status: 200 },
  { route: 'POST /deals/:id/proposals', stage: 'qualified', path: (id: string) => `/deals/${id}/proposals`, body: () => bodies.proposal(), status: 200 },
  { route: 'POST /deals/:id/negotiations', stage: 'proposal', path: (id: string) => `/deals/${id}/negotiations`, body: () => bodies.negotiation(), status: 200 },
  { route: 'POST /deals/:id/closing', stage: 'proposal', path: (id: string) => `/deals/${id}/closing`, body: () => bodies.won(), status: 200 },
  { route: 'POST /deals/:id/follow-ups', stage: 'closed', path: (id: string) => `/deals/${id}/follow-ups`, body: () => bodies.followUp(), status: 200 },
] as const;

type Command = (typeof commands)[number];

async function sendCommand(command: Command, options: { as?: Role | null; headers?: Record<string, string> }) {
  const dealId = command.stage === undefined ? '' : await dealAt(command.stage);
  return { dealId, response: await api.request('POST', command.path(dealId), { body: command.body(), ...options }) };
}

describe('Authentication', () => {
  const salesKey = keys.sales;
  const badHeaders: Array<[string, string | undefined]> = [
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['the key without a scheme', salesKey],
    ['the Basic scheme', `Basic ${Buffer.from(`${salesKey}:`).toString('base64')}`],
    ['the Basic scheme with the raw key', `Basic ${salesKey}`],
    ['the Token scheme', `Token ${salesKey}`],
    ['the ApiKey scheme', `ApiKey ${salesKey}`],
    ['an empty bearer', 'Bearer'],
    ['an empty bearer with a space', 'Bearer '],
    ['an unknown key', 'Bearer unknown-key-000000000001'],
    ['a known key with one character changed', `Bearer ${salesKey.slice(0, -1)}X`],
    ['a known key with a character added', `Bearer ${salesKey}0`],
    ['a prefix of a known key', `Bearer ${salesKey.slice(0, 10)}`],
    ['a known key followed by another word', `Bearer ${salesKey} admin`],
    ['two bearer credentials', `Bearer ${salesKey}, Bearer ${keys.admin}`],
    ['a known key in quotes', `Bearer "${salesKey}"`],
    ["a known actor's name instead of a key", `Bearer ${actors.admin}`],
  ];

  const protectedRoutes: Array<[string, string, (dealId: string) => unknown]> = [
    ['POST', '/deals', () => bodies.lead()],
    ['POST', '/deals/:id/qualification', () => bodies.qualification()],
    ['GET', '/deals/:id', () => undefined],
    ['GET', '/deals/:id/history', () => undefined],
  ];

  let dealId: string;
  beforeAll(async () => {
    dealId = await dealAt('lead');
  });

  it.each(badHeaders.flatMap(([label, header]) => protectedRoutes.map(([method, route, body]) => ({ label, header, method, route, body }))))(
    '$method $route with $label → 401 UNAUTHENTICATED, and changes nothing',
    async ({ header, method, route, body }) => {
      const before = await head();
      const response = await api.request(method, route.replace(':id', dealId), {
        as: null,
        ...(body(dealId) === undefined ? {} : { body: body(dealId) }),
        ...(header === undefined ? {} : { headers: { authorization: header } }),
      });
      expectError(response, 401, 'UNAUTHENTICATED');
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await head()).toBe(before);
    },
  );

  it('checks the key before the body: an unauthenticated request with an invalid body gets 401, not 400', async () => {
    const response = await api.request('POST', '/deals', { as: null, body: { title: 42 } });
    expectError(response, 401, 'UNAUTHENTICATED');
  });

  it.each<[string, () => Pick<RequestOptions, 'rawBody' | 'headers'>]>([
    ['JSON that does not parse', () => ({ rawBody: '{"title":' })],
    ['a body over BODY_LIMIT_BYTES', () => ({ rawBody: JSON.stringify(bodies.lead({ title: 'x'.repeat(200_000) })) })],
    ['a body that is not JSON', () => ({ rawBody: 'title=x', headers: { 'content-type': 'text/plain' } })],
    ['a chunked body', () => ({ rawBody: new Blob(['{"title":']).stream() })],
  ])('reads no body before the key: %s without a key gets 401, not the body’s error', async (_label, request) => {
    for (const header of [undefined, 'Bearer unknown-key-000000000001']) {
      const before = await head();
      const { rawBody, headers } = request();
      const response = await api.request('POST', '/deals', {
        as: null,
        ...(rawBody === undefined ? {} : { rawBody }),
        headers: { ...headers, ...(header === undefined ? {} : { authorization: header }) },
      });
      expectError(response, 401, 'UNAUTHENTICATED');
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await head()).toBe(before);
    }
  });

  it('leaves a GET with a body to its route: /health answers without a key', async () => {
    const answer = await api.rawExchange('GET /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    expect(answer.status).toBe(200);
  });

  it('still reads the body of a caller whose key is known: malformed JSON from a known key gets 400 MALFORMED_JSON', async () => {
    expectError(await api.request('POST', '/deals', { rawBody: '{"title":' }), 400, 'MALFORMED_JSON');
  });

  it('treats the Bearer scheme name case-insensitively (RFC 7235)', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const response = await api.request('GET', `/deals/${dealId}`, { as: null, headers: { authorization: `${scheme} ${keys.sales}` } });
      expect(response.status).toBe(200);
    }
  });
});

describe('Roles', () => {
  const writers: Role[] = ['sales', 'admin'];
  const nonWriters: Role[] = ['auditor', 'analyst'];

  it.each(commands.flatMap((command) => nonWriters.map((role) => ({ ...command, role }))))(
    '$role may not send $route → 403 FORBIDDEN, and nothing is appended',
    async (command) => {
      const dealId = command.stage === undefined ? '' : await dealAt(command.stage);
      const before = await head();
      const response = await api.request('POST', command.path(dealId), { as: command.role, body: command.body() });
      expectError(response, 403, 'FORBIDDEN');
      expect(response.body.details).toEqual({ actor: actors[command.role], roles: [command.role] });
      expect(await head()).toBe(before);
    },
  );

  it.each(commands.flatMap((command) => writers.map((role) => ({ ...command, role }))))(
    '$role may send $route, and the stored actor is the key’s actor',
    async (command) => {
      const { response } = await sendCommand(command, { as: command.role, headers: { 'x-actor': 'mallory' } });
      expect(response.status).toBe(command.status);
      const history = await api.request('GET', `/deals/${response.body.dealId}/history`, { as: 'auditor' });
      const last = history.body.entries.at(-1);
      expect({ version: last.version, actor: last.actor }).toEqual({ version: response.body.version, actor: actors[command.role] });
    },
  );

  it('checks the role before the body: an auditor sending an invalid body gets 403, not 400', async () => {
    const response = await api.request('POST', '/deals', { as: 'auditor', body: { title: 42 } });
    expectError(response, 403, 'FORBIDDEN');
  });

  const reads: Array<[string, string, Record<Role, number>]> = [
    ['GET', '/deals/:id', { sales: 200, auditor: 200, analyst: 200, admin: 200 }],
    ['GET', '/deals/:id/history', { sales: 200, auditor: 200, analyst: 403, admin: 200 }],
  ];
  it.each(reads.flatMap(([method, route, allowed]) => (Object.keys(allowed) as Role[]).map((role) => ({ method, route, role, status: allowed[role] }))))(
    '$method $route as $role → $status',
    async ({ method, route, role, status }) => {
      const dealId = await dealAt('lead');
      const response = await api.request(method, route.replace(':id', dealId), { as: role });
      if (status === 200) {
        expect(response.status).toBe(200);
        expect(response.body.dealId).toBe(dealId);
      } else {
        expectError(response, status, 'FORBIDDEN');
      }
    },
  );

  it('lets admin run a whole lifecycle and read everything', async () => {
    const as = 'admin' as const;
    const captured = await api.request('POST', '/deals', { as, body: bodies.lead() });
    expect(captured.status).toBe(201);
    const dealId = captured.body.dealId;
    for (const [route, body] of [
      ['qualification', bodies.qualification()],
      ['proposals', bodies.proposal()],
      ['negotiations', bodies.negotiation()],
      ['closing', bodies.won()],
      ['follow-ups', bodies.followUp()],
    ] as const) {
      const response = await api.request('POST', `/deals/${dealId}/${route}`, { as, body });
      expect(response.status).toBe(200);
    }
    expect((await api.request('GET', `/deals/${dealId}`, { as })).body).toMatchObject({ stage: 'won', version: 5 });
    const history = await api.request('GET', `/deals/${dealId}/history`, { as });
    expect(history.body.entries.map((entry: { actor: string }) => entry.actor)).toEqual(Array(6).fill(actors.admin));
  });
});

describe('A key with several roles, and keys parsed from API_KEYS', () => {
  let multi: TestApp;
  const multiKey = 'multi-role-key-0000000001';
  const readerKey = 'analyst-only-key-00000001';

  beforeAll(async () => {
    multi = await startTestApp({ apiKeys: parseApiKeys(`${multiKey}=mia.multi:auditor+sales, ${readerKey}=ana.only:analyst,`) });
  });
  afterAll(async () => {
    await multi.close();
  });

  const as = (key: string) => ({ as: null, headers: { authorization: `Bearer ${key}` } });

  it('lets a sales+auditor key write and read history, recording its own actor', async () => {
    const captured = await multi.request('POST', '/deals', { ...as(multiKey), body: bodies.lead() });
    expect(captured.status).toBe(201);
    const history = await multi.request('GET', `/deals/${captured.body.dealId}/history`, as(multiKey));
    expect(history.status).toBe(200);
    expect(history.body.entries[0].actor).toBe('mia.multi');
  });

  it('refuses the keys of another configuration', async () => {
    const response = await multi.request('GET', '/health/live', { as: 'sales' });
    expect(response.status).toBe(200);
    expectError(await multi.request('POST', '/deals', { as: 'admin', body: bodies.lead() }), 401, 'UNAUTHENTICATED');
  });

  it('keeps an analyst-only key to what analysts may do', async () => {
    const captured = await multi.request('POST', '/deals', { ...as(multiKey), body: bodies.lead() });
    const dealId = captured.body.dealId;
    expect((await multi.request('GET', `/deals/${dealId}`, as(readerKey))).status).toBe(200);
    expectError(await multi.request('GET', `/deals/${dealId}/history`, as(readerKey)), 403, 'FORBIDDEN');
    expectError(await multi.request('POST', '/deals', { ...as(readerKey), body: bodies.lead() }), 403, 'FORBIDDEN');
  });
});

describe('Public routes', () => {
  it.each([
    ['/health', 'application/json'],
    ['/health/live', 'application/json'],
    ['/docs', 'text/html'],
    ['/docs/openapi.json', 'application/json'],
  ])('%s needs no key, and ignores a bad one', async (path, contentType) => {
    const headerSets: Array<Record<string, string>> = [{}, { authorization: 'Bearer not-a-real-key-000001' }, { authorization: 'Basic Zm9vOmJhcg==' }];
    for (const headers of headerSets) {
      const response = await api.request('GET', path, { as: null, headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(contentType);
    }
  });

  it('serves the Swagger UI at /docs', async () => {
    const response = await api.request('GET', '/docs', { as: null });
    expect(response.text).toMatch(/<html/i);
    expect(response.text).toMatch(/swagger/i);
  });

  it('describes every command, with bearer security, in /docs/openapi.json', async () => {
    const { body: doc } = await api.request('GET', '/docs/openapi.json', { as: null });
    expect(doc.openapi).toMatch(/^3\./);
    const schemes = Object.entries(doc.components.securitySchemes as Record<string, { type: string; scheme?: string; bearerFormat?: string }>);
    const bearer = schemes.filter(([, scheme]) => scheme.type === 'http' && scheme.scheme === 'bearer').map(([name]) => name);
    expect(bearer.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes[bearer[0]!].bearerFormat ?? '').not.toBe('JWT');

    const commandPaths = [
      '/deals',
      '/deals/{id}/qualification',
      '/deals/{id}/proposals',
      '/deals/{id}/negotiations',
      '/deals/{id}/closing',
      '/deals/{id}/follow-ups',
    ];
    for (const path of commandPaths) {
      const operation = doc.paths[path]?.post;
      expect({ path, documented: operation !== undefined }).toEqual({ path, documented: true });
      expect(operation.security.some((requirement: Record<string, unknown>) => bearer.some((name) => name in requirement))).toBe(true);
      expect(operation.requestBody.content['application/json'].schema).toBeDefined();
      const headers = operation.parameters.filter((parameter: { in: string }) => parameter.in === 'header').map((parameter: { name: string }) => parameter.name);
      expect(headers).toEqual(expect.arrayContaining(path === '/deals' ? ['Idempotency-Key'] : ['Idempotency-Key', 'If-Match']));
    }
    for (const path of ['/deals/{id}', '/deals/{id}/history']) {
      const operation = doc.paths[path]?.get;
      expect(operation.security.some((requirement: Record<string, unknown>) => bearer.some((name) => name in requirement))).toBe(true);
    }
  });

  it('documents every answer a route gives, errors with the error body, in /docs/openapi.json', async () => {
    const { body: doc } = await api.request('GET', '/docs/openapi.json', { as: null });
    const errorSchema = (answer: { content?: Record<string, { schema?: { $ref?: string } }> }) => answer.content?.['application/json']?.schema?.$ref;
    const documented = (path: string, method: string) => {
      const responses = doc.paths[path][method].responses as Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
      for (const [status, answer] of Object.entries(responses)) if (Number(status) >= 400) expect({ path, status, schema: errorSchema(answer) }).toEqual({ path, status, schema: '#/components/schemas/ErrorResponse' });
      return Object.keys(responses).sort();
    };
    expect(documented('/deals', 'post')).toEqual(['201', '400', '401', '403', '409', '413', '415', '422']);
    for (const step of ['qualification', 'proposals', 'negotiations', 'closing', 'follow-ups']) {
      expect(documented(`/deals/{id}/${step}`, 'post')).toEqual(['200', '400', '401', '403', '404', '409', '413', '414', '415', '422']);
    }
    for (const path of ['/deals/{id}', '/deals/{id}/history']) expect(documented(path, 'get')).toEqual(['200', '400', '401', '403', '404', '414']);
    for (const path of ['/pipeline', '/analytics/cycle-length', '/audit', '/audit/verify']) expect(documented(path, 'get')).toEqual(['200', '400', '401', '403']);
    expect(doc.paths['/deals'].post.parameters.map((parameter: { name: string }) => parameter.name)).toContain('If-Match');
    const proposal = doc.paths['/deals/{id}/proposals'].post.requestBody.content['application/json'].schema.$ref.split('/').at(-1);
    expect(doc.components.schemas[proposal].properties.winProbability.type).toBe('integer');
    expect(doc.paths['/health'].get.security ?? []).toEqual([]);
  });
});

describe('API_KEYS parsing', () => {
  const env = (apiKeys: string) => ({ API_KEYS: apiKeys, DATA_DIR: '/tmp/unused', SEED_DEMO: 'false' });
  const secret = 'a-perfectly-good-key-0001';

  it('reads keys, actors and roles, trimming spaces and ignoring empty entries', () => {
    const config = loadConfig(env(` ${secret}=ann.lee:sales+auditor , other-good-key-00000002=bob@example.com:admin,, `));
    expect(config.apiKeys).toEqual([
      { key: secret, actor: 'ann.lee', roles: ['sales', 'auditor'] },
      { key: 'other-good-key-00000002', actor: 'bob@example.com', roles: ['admin'] },
    ]);
  });

  it('folds a role listed twice into one', () => {
    expect(loadConfig(env(`${secret}=ann:sales+sales`)).apiKeys[0]!.roles).toEqual(['sales']);
  });

  it.each([
    ['no "=" at all', 'nonsense'],
    ['no actor and role', `${secret}=`],
    ['no role', `${secret}=ann`],
    ['an empty role', `${secret}=ann:`],
    ['an empty role after +', `${secret}=ann:sales+`],
    ['an unknown role', `${secret}=ann:superuser`],
    ['a role in capitals', `${secret}=ann:Sales`],
    ['an empty actor', `${secret}=:sales`],
    ['an actor with a space', `${secret}=ann lee:sales`],
    ['a key shorter than 16 characters', 'short-key=ann:sales'],
    ['a key with a space', 'a perfectly good key 01=ann:sales'],
    ['a key with a non-ASCII character', 'a-perfectly-gööd-key-0001=ann:sales'],
    ['the same key twice', `${secret}=ann:sales,${secret}=bob:admin`],
    ['one bad entry among good ones', `${secret}=ann:sales,broken-entry`],
  ])('refuses %s with a ConfigError naming API_KEYS, without echoing the key', (_label, apiKeys) => {
    let thrown: unknown;
    try {
      loadConfig(env(apiKeys));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).setting).toBe('API_KEYS');
    expect((thrown as ConfigError).message).toContain('API_KEYS');
    expect((thrown as ConfigError).message).not.toContain(secret);
  });

  it('accepts an empty API_KEYS (the service then makes a development key)', () => {
    expect(loadConfig(env('')).apiKeys).toEqual([]);
  });
});
