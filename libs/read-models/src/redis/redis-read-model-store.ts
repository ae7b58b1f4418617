import { connectRedis } from '@deals/platform';
import type { Redis } from 'ioredis';
import { counterFields, countLimit, frozenDocument, netChanges, nonNegativeInteger, positiveInteger, projectionNamespace, rangeOffset, roundCounter, unionScoresOneByOne, validCheckpoint } from '../adapter-rules';
import type {
  Checkpoint,
  CounterChanges,
  GetOptions,
  IndexEntry,
  JsonObject,
  RangeOptions,
  ScoreRangeOptions,
  ReadModelChanges,
  ReadModelStore,
} from '../read-model-store.port';

export interface RedisReadModelStoreOptions {
  /** Starts every key, so that separate read models (tests, a replay) share one Redis. Default 'deals:'. */
  readonly keyPrefix?: string;
}

/**
 * What a key holds, as a letter after the prefix: `<prefix><kind>:<name>`. A collection, a counter
 * and an index may share a name without their keys clashing, so no command in a commit can meet a
 * key of the wrong type (Redis would fail that one command and still run the rest of the EXEC).
 */
const kinds = {
  /** Hash of a collection: id → document JSON. */
  documents: 'd',
  /** Sorted set of a collection's ids, all scored 0, so that scans page through them in id order. */
  ids: 'i',
  /** Hash of a counter: field → value (HINCRBYFLOAT). */
  counter: 'c',
  /** Sorted set of an index: member → score. */
  index: 'x',
  /** Hash of a projection's checkpoint. */
  checkpoint: 'k',
  /** Present while a reset of the projection is under way: see reset(). */
  resetting: 'r',
} as const;

type Kind = (typeof kinds)[keyof typeof kinds];

/** Members and fields per command, so a large batch never builds one giant command. */
const chunkSize = 1_000;
/** Arguments per call of `applyPairs`: a few thousand increments or index entries each. */
const pairArgsPerCall = 8_000;

/** Members of one index from which a commit sends them in plain ZADDs rather than through `applyPairs`. */
const ownZaddMembers = 64;
/** Pairs per key in one entry of an `applyPairs` call: one ZADD takes them all, within what Lua's unpack allows. */
const pairsPerEntry = 1_000;

/**
 * Counter increments and index entries of many keys in one command. KEYS: the keys; ARGV: per key,
 * 'i' (HINCRBYFLOAT) or 'z' (ZADD), the number of pairs, then the pairs (field and amount, or score
 * and member). A rebuild batch increments tens of thousands of counter fields, one command each
 * before, and the client building and parsing those commands was the bound (not Redis). An index's
 * members go in one ZADD, not one each: Redis copies every argument into Lua and back as it is.
 */
const applyPairs = `
local a = 1
for k = 1, #KEYS do
  local stop = a + 1 + 2 * tonumber(ARGV[a + 1])
  if ARGV[a] == 'z' then
    redis.call('ZADD', KEYS[k], unpack(ARGV, a + 2, stop))
  else
    for j = a + 2, stop, 2 do redis.call('HINCRBYFLOAT', KEYS[k], ARGV[j], ARGV[j + 1]) end
  end
  a = stop + 1
end
return #KEYS
`;
const defaultScanPageSize = 500;

/**
 * The page after a cursor that is still in the index with the same score: its rank finds the place in
 * O(log n) however many members share that score. Atomic, so the rank cannot go stale before the read.
 * Answers nil when the cursor's member has gone or moved.
 */
const pageAfterMember = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return false end
local reverse = ARGV[3] == '1'
local rank = redis.call(reverse and 'ZREVRANK' or 'ZRANK', KEYS[1], ARGV[1])
local first, last = rank + 1, rank + tonumber(ARGV[4])
if reverse then return redis.call('ZRANGE', KEYS[1], first, last, 'REV', 'WITHSCORES') end
return redis.call('ZRANGE', KEYS[1], first, last, 'WITHSCORES')
`;

/**
 * Read models in Redis. A commit is one MULTI/EXEC holding every change and the checkpoint, so other
 * clients see all of it or none, and the AOF replays it as a unit. How durable an acknowledged commit
 * is follows the server's persistence settings (appendfsync); as with the embedded store, what a crash
 * loses is the changes and their checkpoint together, which the runner projects again.
 *
 * Member order (ties in a range) is Redis's: byte order, the same as the embedded store's.
 */
export class RedisReadModelStore implements ReadModelStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Connects, or rejects when Redis cannot be reached. */
  static async connect(url: string, options: RedisReadModelStoreOptions = {}): Promise<RedisReadModelStore> {
    const redis = await connectRedis(url);
    return new RedisReadModelStore(redis, options.keyPrefix ?? 'deals:');
  }

  async commit(projection: string, changes: ReadModelChanges, checkpoint: Checkpoint): Promise<void> {
    const net = netChanges(projection, changes);
    const { position, eventsProcessed, lastRecordedAt } = validCheckpoint(checkpoint);
    const transaction = this.redis.multi();
    for (const [collection, documents] of net.documents) {
      const documentsKey = this.key(kinds.documents, collection);
      const idsKey = this.key(kinds.ids, collection);
      const puts: Array<[string, string]> = [];
      const deletes: string[] = [];
      for (const [id, json] of documents) {
        if (json === null) deletes.push(id);
        else puts.push([id, json]);
      }
      for (const chunk of chunks(puts)) {
        transaction.hset(documentsKey, ...chunk.flat());
        transaction.zadd(idsKey, ...chunk.flatMap(([id]) => ['0', id]));
      }
      for (const chunk of chunks(deletes)) {
        transaction.hdel(documentsKey, ...chunk);
        transaction.zrem(idsKey, ...chunk);
      }
    }
    const pairs = new PairCalls((keys, args) => transaction.eval(applyPairs, keys.length, ...keys, ...args));
    for (const [counter, fields] of net.counters) {
      const counterKey = this.key(kinds.counter, counter);
      for (const [field, by] of fields) pairs.add(counterKey, 'i', field, String(by));
    }
    for (const [index, members] of net.indexes) {
      const indexKey = this.key(kinds.index, index);
      const removed: string[] = [];
      // A large index's members go in ZADDs of their own: through the script, Redis would copy
      // every argument into Lua and back for no fewer commands on the client's side.
      const own: string[] | undefined = members.size >= ownZaddMembers ? [] : undefined;
      for (const [member, score] of members) {
        if (score === null) removed.push(member);
        else if (own) own.push(String(score), member);
        else pairs.add(indexKey, 'z', String(score), member);
      }
      for (const chunk of chunks(own ?? [], 2 * chunkSize)) transaction.zadd(indexKey, ...chunk);
      // Their order against the additions does not matter: one index's changes are net, so no member is in both.
      for (const chunk of chunks(removed)) transaction.zrem(indexKey, ...chunk);
    }
    pairs.flush();
    transaction.hset(this.key(kinds.checkpoint, projection), {
      commit: position.commit.toString(),
      prepare: position.prepare.toString(),
      eventsProcessed: String(eventsProcessed),
      lastRecordedAt,
    });
    const results = await transaction.exec();
    if (results === null) throw new Error(`The commit of ${projection} was aborted`);
    const failed = results.find(([error]) => error !== null);
    if (failed?.[0]) throw failed[0];
  }

  /** Nothing is deferred: every commit writes its index entries. */
  async settle(projection: string): Promise<void> {
    projectionNamespace(projection);
  }

  async checkpoint(projection: string): Promise<Checkpoint | undefined> {
    projectionNamespace(projection);
    const [fields, resetting] = await Promise.all([
      this.redis.hgetall(this.key(kinds.checkpoint, projection)),
      this.redis.exists(this.key(kinds.resetting, projection)),
    ]);
    if (resetting > 0) throw new Error(`A reset of ${projection} did not finish: reset it again before projecting`);
    const { commit, prepare, eventsProcessed, lastRecordedAt } = fields;
    if (commit === undefined || prepare === undefined || eventsProcessed === undefined || lastRecordedAt === undefined) {
      return undefined;
    }
    return { position: { commit: BigInt(commit), prepare: BigInt(prepare) }, eventsProcessed: Number(eventsProcessed), lastRecordedAt };
  }

  async get(collection: string, id: string): Promise<JsonObject | undefined> {
    const json = await this.redis.hget(this.key(kinds.documents, collection), id);
    return json === null ? undefined : parse(json);
  }

  async getMany(collection: string, ids: readonly string[], options: GetOptions = {}): Promise<ReadonlyArray<JsonObject | undefined>> {
    const key = this.key(kinds.documents, collection);
    const pages = await Promise.all(chunks([...ids]).map((chunk) => this.redis.hmget(key, ...chunk)));
    // Every read comes over the network and is parsed anyway: frozen reads share nothing here.
    const read = options.frozen ? (json: string) => frozenDocument(parse(json)) : parse;
    return pages.flat().map((json) => (json === null ? undefined : read(json)));
  }

  async *scan(
    collection: string,
    options: { readonly pageSize?: number } = {},
  ): AsyncGenerator<{ readonly id: string; readonly document: JsonObject }> {
    const pageSize = positiveInteger(options.pageSize ?? defaultScanPageSize, 'pageSize');
    const idsKey = this.key(kinds.ids, collection);
    const documentsKey = this.key(kinds.documents, collection);
    let from = '-';
    for (;;) {
      const ids = await this.redis.zrange(idsKey, from, '+', 'BYLEX', 'LIMIT', 0, pageSize);
      const last = ids.at(-1);
      if (last === undefined) return;
      const documents = await this.redis.hmget(documentsKey, ...ids);
      for (const [i, id] of ids.entries()) {
        const json = documents[i];
        // Deleted between the two reads: gone, so not part of the scan.
        if (typeof json === 'string') yield { id, document: parse(json) };
      }
      if (ids.length < pageSize) return;
      from = `(${last}`;
    }
  }

  async counters(counter: string, fields?: readonly string[]): Promise<Readonly<Record<string, number>>> {
    const key = this.key(kinds.counter, counter);
    const named = fields && counterFields(fields);
    const entries: [string, number][] = [];
    if (named === undefined) {
      for (const [field, value] of Object.entries(await this.redis.hgetall(key))) entries.push([field, roundCounter(Number(value))]);
    } else if (named.length > 0) {
      const values = await this.redis.hmget(key, ...named);
      named.forEach((field, index) => {
        const value = values[index];
        if (value !== null && value !== undefined) entries.push([field, roundCounter(Number(value))]);
      });
    }
    // fromEntries defines each field as its own, where assignment would let `__proto__` set the prototype.
    return Object.fromEntries(entries);
  }

  /** Redis keeps no stamps on hash fields: every answer is the whole hash. */
  async countersSince(counter: string, since: number | undefined): Promise<CounterChanges> {
    if (since !== undefined) nonNegativeInteger(since, 'since');
    return { fields: await this.counters(counter), whole: true, stamp: undefined };
  }

  async range(index: string, options: RangeOptions): Promise<IndexEntry[]> {
    const limit = nonNegativeInteger(options.limit, 'limit');
    const offset = rangeOffset(options);
    if (limit === 0) return [];
    const key = this.key(kinds.index, index);
    const { min = -Infinity, max = Infinity, reverse = false } = options;
    let { after } = options;
    // A cursor outside the bounds: before the range it means "from the start", beyond it "nothing left".
    if (after !== undefined && (reverse ? after.score > max : after.score < min)) after = undefined;
    if (after !== undefined && (reverse ? after.score < min : after.score > max)) return [];
    if (after === undefined) {
      const reply = reverse
        ? await this.redis.zrange(key, bound(max), bound(min), 'BYSCORE', 'REV', 'LIMIT', offset, limit, 'WITHSCORES')
        : await this.redis.zrange(key, bound(min), bound(max), 'BYSCORE', 'LIMIT', offset, limit, 'WITHSCORES');
      return entries(reply);
    }
    const reply = await this.redis.eval(pageAfterMember, 1, key, after.member, String(after.score), reverse ? '1' : '0', limit);
    if (Array.isArray(reply)) {
      // Ranked from the cursor, so only the far bound can cut the page short.
      return entries(reply).filter((entry) => (reverse ? entry.score >= min : entry.score <= max));
    }
    return this.rangeAfterMoved(key, { min, max, reverse, limit, after });
  }

  /** ZRANGE answers members with their scores whatever is asked, so this is `range` less the members. */
  async scores(index: string, options: ScoreRangeOptions): Promise<number[]> {
    return (await this.range(index, options)).map((entry) => entry.score);
  }

  /** A read per index, sent together: Redis has no ordered union of sorted sets short of storing one. */
  async unionScores(indexes: readonly string[], options: ScoreRangeOptions): Promise<number[]> {
    return unionScoresOneByOne((index, each) => this.scores(index, each), indexes, options);
  }

  async count(index: string, min?: number, max?: number, limit?: number): Promise<number> {
    const most = countLimit(limit);
    // ZCOUNT costs O(log n) whatever the count, so the limit only caps the answer.
    return Math.min(most, await this.redis.zcount(this.key(kinds.index, index), bound(min ?? -Infinity), bound(max ?? Infinity)));
  }

  /**
   * Not atomic in Redis, so it marks the projection as resetting first: a crash half-way leaves the
   * mark, and checkpoint() then refuses to answer rather than let a runner resume on half-deleted data.
   * Run it while the projection's runner is stopped.
   */
  async reset(projection: string): Promise<void> {
    const namespace = projectionNamespace(projection);
    const marker = this.key(kinds.resetting, projection);
    await this.redis.set(marker, '1');
    // `?` matches the kind letter; the prefix and the name are escaped so that their wildcards are literal.
    const pattern = `${globEscape(this.prefix)}?:${globEscape(namespace)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', chunkSize);
      if (keys.length > 0) await this.redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.redis.unlink(this.key(kinds.checkpoint, projection), marker);
  }

  async close(): Promise<void> {
    if (this.redis.status !== 'end') await this.redis.quit();
  }

  private key(kind: Kind, name: string): string {
    return `${this.prefix}${kind}:${name}`;
  }

  /**
   * The page after a cursor whose member has gone or moved: read on from the cursor's score, passing
   * over the members that share it and sort before the cursor. Costs a walk through that tie only.
   */
  private async rangeAfterMoved(
    key: string,
    options: { min: number; max: number; reverse: boolean; limit: number; after: IndexEntry },
  ): Promise<IndexEntry[]> {
    const { min, max, reverse, limit, after } = options;
    const result: IndexEntry[] = [];
    const readSize = Math.max(limit, 100);
    for (let offset = 0; ; offset += readSize) {
      const reply = reverse
        ? await this.redis.zrange(key, bound(after.score), bound(min), 'BYSCORE', 'REV', 'LIMIT', offset, readSize, 'WITHSCORES')
        : await this.redis.zrange(key, bound(after.score), bound(max), 'BYSCORE', 'LIMIT', offset, readSize, 'WITHSCORES');
      const page = entries(reply);
      for (const entry of page) {
        const order = compareBytes(entry.member, after.member);
        if (entry.score === after.score && (reverse ? order >= 0 : order <= 0)) continue;
        result.push(entry);
        if (result.length === limit) return result;
      }
      if (page.length < readSize) return result;
    }
  }
}

/** Gathers pairs into calls of `applyPairs`, in the order added; consecutive pairs of one key share its entry. */
class PairCalls {
  private keys: string[] = [];
  private args: string[] = [];
  /** The current key's entry: where its pair count goes in `args`, and the count so far. */
  private countAt = -1;
  private count = 0;
  private currentKey: string | undefined;
  private currentOp: 'i' | 'z' | undefined;

  constructor(private readonly call: (keys: readonly string[], args: readonly string[]) => void) {}

  add(key: string, op: 'i' | 'z', first: string, second: string): void {
    if (this.args.length >= pairArgsPerCall) this.flush();
    if (key !== this.currentKey || op !== this.currentOp || this.count === pairsPerEntry) {
      this.closeEntry();
      this.keys.push(key);
      this.args.push(op, '');
      this.countAt = this.args.length - 1;
      this.currentKey = key;
      this.currentOp = op;
    }
    this.args.push(first, second);
    this.count += 1;
  }

  flush(): void {
    this.closeEntry();
    if (this.keys.length > 0) this.call(this.keys, this.args);
    this.keys = [];
    this.args = [];
    this.currentKey = undefined;
    this.currentOp = undefined;
  }

  private closeEntry(): void {
    if (this.currentKey !== undefined) this.args[this.countAt] = String(this.count);
    this.count = 0;
  }
}

/** A score bound as Redis reads it; infinities in its own spelling. */
function bound(score: number): string {
  if (score === Infinity) return '+inf';
  if (score === -Infinity) return '-inf';
  return String(score);
}

/** WITHSCORES replies come flat: member, score, member, score… */
function entries(reply: readonly unknown[]): IndexEntry[] {
  const result: IndexEntry[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) result.push({ member: String(reply[i]), score: Number(reply[i + 1]) });
  return result;
}

/** Redis orders members by their bytes; JavaScript's `<` compares UTF-16 units, which differs beyond the BMP. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function chunks<T>(items: readonly T[], size = chunkSize): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function parse(json: string): JsonObject {
  return JSON.parse(json) as JsonObject;
}

