// patches/kafkajs+2.2.4.patch makes kafkajs's Encoder take its buffers unzeroed from Node's pool, and
// write varints in place. The first is safe only while every byte kafkajs sends is one it wrote, the
// second only while the bytes are Kafka's (zigzag LEB128, as protobuf's sint32 and sint64).
import { createRequire } from 'node:module';

interface KafkajsEncoder {
  readonly buf: Buffer;
  readonly buffer: Buffer;
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number): KafkajsEncoder;
}

interface RecordInput {
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

const kafkajsInternal = createRequire(require.resolve('kafkajs'));
const Encoder = kafkajsInternal('./src/protocol/encoder') as { new (): KafkajsEncoder; sizeOfVarLong(value: number): number };
const Record = kafkajsInternal('./src/protocol/recordBatch/record/v0') as (record: RecordInput) => KafkajsEncoder;
const { RecordBatch } = kafkajsInternal('./src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: { firstTimestamp: number; maxTimestamp: number; lastOffsetDelta: number; records: KafkajsEncoder[] }) => Promise<KafkajsEncoder>;
};

function message(i: number): RecordInput {
  return {
    offsetDelta: i,
    timestampDelta: i * 3,
    key: `3f0c2b1e-8a51-4a8e-9a34-0c1d2e3f4a${String(i).padStart(2, '0')}`,
    // Long enough that the record's buffer grows past its first size.
    value: JSON.stringify({ type: 'Negotiated', data: { round: i, objections: ['prix élevé', '価格'], note: 'x'.repeat(700) } }),
    headers: Object.fromEntries(Array.from({ length: 9 }, (_, h) => [`ce_header_${h}`, `värde-${i}-${h}`])),
  };
}

async function encodeBatch(): Promise<Buffer> {
  const records = Array.from({ length: 20 }, (_, i) => Record(message(i)));
  const batch = await RecordBatch({ firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_057, lastOffsetDelta: 19, records });
  return Buffer.from(batch.buffer);
}

describe("kafkajs's encoder, as patched", () => {
  afterEach(() => jest.restoreAllMocks());

  it("takes a new encoder's buffer from Node's shared pool rather than a zeroed allocation of its own", () => {
    const { buf } = new Encoder();
    expect(buf.buffer.byteLength).toBe(Buffer.poolSize);
  });

  it('sends only bytes it wrote: a record batch encodes the same whatever its buffers held before', async () => {
    const encodeOver = async (garbage: number): Promise<Buffer> => {
      jest.spyOn(Buffer, 'allocUnsafe').mockImplementation((size) => Buffer.alloc(size, garbage));
      const encoded = await encodeBatch();
      jest.restoreAllMocks();
      return encoded;
    };
    const overZeros = await encodeOver(0x00);
    expect(overZeros.length).toBeGreaterThan(20 * 700);
    expect(await encodeOver(0xa5)).toEqual(overZeros);
    expect(await encodeOver(0xff)).toEqual(overZeros);
  });

  it.each([
    [0, '00'],
    [1, '02'],
    [-1, '01'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [-300, 'd704'],
    [1_700_000_000, '80c49fd50c'],
    [2_147_483_647, 'feffffff0f'],
    [-2_147_483_648, 'ffffffff0f'],
  ])('writes the varint %d as Kafka does (%s)', (value, hex) => {
    expect(new Encoder().writeVarInt(value).buffer.toString('hex')).toBe(hex);
    expect(new Encoder().writeVarLong(value).buffer.toString('hex')).toBe(hex);
    expect(Encoder.sizeOfVarLong(value)).toBe(hex.length / 2);
  });

  it.each([
    [2_147_483_648, '8080808010'],
    [2 ** 40, '808080808040'],
    [-(2 ** 40), 'ffffffffff3f'],
    [1_765_000_000_000, '80c895a3de66'],
  ])('writes the varlong %d, past the int32 range, as Kafka does (%s)', (value, hex) => {
    expect(new Encoder().writeVarLong(value).buffer.toString('hex')).toBe(hex);
    expect(Encoder.sizeOfVarLong(value)).toBe(hex.length / 2);
  });

  it('writes a varint after others in the same buffer, growing it when full', () => {
    const encoder = new Encoder();
    for (let i = 0; i < 200; i += 1) encoder.writeVarInt(-2_147_483_648);
    expect(encoder.buffer.toString('hex')).toBe('ffffffff0f'.repeat(200));
  });
});
