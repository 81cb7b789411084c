import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayHttpClient, type GatewayLineText, parseGatewayLine } from './gateway.http.client';

/** The client of GET /v1/lines against a local HTTP server answering with the given NDJSON body. */
describe(GatewayHttpClient.name, () => {
  let body: string | Buffer = '';
  /** When set, the body goes out in pieces of this many bytes, each in its own write a tick apart. */
  let pieceBytes: number | undefined;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const bytes = Buffer.from(body);
    if (pieceBytes === undefined) {
      res.end(bytes);
      return;
    }
    const size = pieceBytes;
    const send = (at: number): void => {
      if (at >= bytes.length) {
        res.end();
        return;
      }
      res.write(bytes.subarray(at, at + size));
      setImmediate(() => send(at + size));
    };
    send(0);
  });
  let client: GatewayHttpClient;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new GatewayHttpClient({ gatewayUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serviceApiKey: 'key', httpTimeoutMs: 2_000 });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  afterEach(() => {
    pieceBytes = undefined;
  });

  /** The lines handed over; `held` is asked about each id, whether the reader has it as text or as bytes. */
  async function linesOf(ndjson: string | Buffer, held?: (lineId: string) => boolean): Promise<GatewayLineText[]> {
    body = ndjson;
    const lines: GatewayLineText[] = [];
    const heldIds =
      held === undefined
        ? undefined
        : { has: held, hasBytes: (bytes: Uint8Array, start: number, end: number) => held(Buffer.from(bytes.subarray(start, end)).toString('utf8')) };
    for await (const chunk of client.linesOfDay('DE00', '2025-01-02', heldIds)) lines.push(...chunk);
    return lines;
  }

  it('reads each line as text with its lineId, wherever the member stands, without parsing it', async () => {
    const first = { fileId: 'f', remittance: 'a "lineId":"not-this" in the text', lineId: '0190a000-0000-7000-8000-000000000001' };
    const second = { lineId: '0190a000-0000-7000-8000-000000000002', account: 'DE00' };
    const lines = await linesOf(`${JSON.stringify(first)}\n${JSON.stringify(second)}\n{"end":true,"lines":2}\n`);

    expect(lines.map((line) => line.lineId)).toEqual([first.lineId, second.lineId]);
    expect(parseGatewayLine(lines[0]!)).toEqual(first);
  });

  it('hands over a line that is not JSON without an id, and parsing it names the line', async () => {
    const [line] = await linesOf('this is not json\n{"end":true,"lines":1}\n');

    expect(line).toEqual({ lineId: undefined, text: 'this is not json' });
    expect(() => parseGatewayLine(line!)).toThrow('bank gateway line (no lineId) is not JSON: this is not json');
    expect(() => parseGatewayLine({ lineId: 'x', text: '[1,2]' })).toThrow('bank gateway line x is not a JSON object: [1,2]');
  });

  it('counts the lines the caller holds without handing them over, and hands over the rest as they came', async () => {
    const ids = Array.from({ length: 6 }, (_, index) => `0190a000-0000-7000-8000-00000000000${index}`);
    const lines = ids.map((lineId, index) => JSON.stringify({ lineId, remittance: `Zahlung für Rechnung ${index} – 付款` }));
    const ndjson = `${lines.join('\n')}\n{"end":true,"lines":6}\n`;
    const asked: string[] = [];
    const isHeld = (lineId: string): boolean => {
      asked.push(lineId);
      return ids.indexOf(lineId) % 2 === 0;
    };

    const handedOver = await linesOf(ndjson, isHeld);

    expect(asked).toEqual(ids);
    expect(handedOver).toEqual([1, 3, 5].map((index) => ({ lineId: ids[index], text: lines[index] })));
    // The same lines, whatever pieces the body arrives in (lines and characters cut across reads).
    for (const size of [1, 2, 3, 7, 64]) {
      pieceBytes = size;
      await expect(linesOf(ndjson, isHeld)).resolves.toEqual(handedOver);
    }
  });

  it('reads an id it cannot take off the bytes (escaped, beyond ASCII) from the text, and asks about it then', async () => {
    const escaped = '{"lineId":"a\\u0062c"} {"lineId":"second"}';
    const accented = '{"lineId":"zahlung-ä"}';
    const held = new Set(['second', 'zahlung-ä']);

    const lines = await linesOf(`${escaped}\n${accented}\n{"end":true,"lines":2}\n`, (lineId) => held.has(lineId));

    expect(lines).toEqual([]);
  });

  it('drops a byte order mark before the first line and skips blank lines', async () => {
    const line = '{"lineId":"0190a000-0000-7000-8000-000000000001"}';

    await expect(linesOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${line}\n \r\n\n{"end":true,"lines":1}\n`)]))).resolves.toEqual([
      { lineId: '0190a000-0000-7000-8000-000000000001', text: line },
    ]);
  });

  it('refuses a line that is not UTF-8 unless the caller holds it (then it is never decoded)', async () => {
    const broken = Buffer.concat([Buffer.from('{"lineId":"l-1","remittance":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"end":true,"lines":1}\n')]);

    await expect(linesOf(broken)).rejects.toThrow('sent a line that is not UTF-8 (line 1)');
    await expect(linesOf(broken, (lineId) => lineId === 'l-1')).resolves.toEqual([]);
  });

  it('counts held lines against the end line, and refuses lines after it', async () => {
    await expect(linesOf('{"lineId":"a"}\n{"lineId":"b"}\n{"end":true,"lines":1}\n', () => true)).rejects.toThrow('announced 1 lines and sent 2');
    await expect(linesOf('{"end":true,"lines":0}\n{"lineId":"a"}\n', () => true)).rejects.toThrow('sent lines after its end line');
  });

  it('refuses a record cut short or miscounted', async () => {
    await expect(linesOf('{"lineId":"a"}\n')).rejects.toThrow('ended its answer without the end line after 1 lines: the record was cut short');
    await expect(linesOf('{"lineId":"a"}\n{"end":true,"lines":2}\n')).rejects.toThrow('announced 2 lines and sent 1');
  });
});
