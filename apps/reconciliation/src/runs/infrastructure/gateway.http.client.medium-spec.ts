import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayHttpClient, type GatewayLineText, parseGatewayLine } from './gateway.http.client';

/** The client of GET /v1/lines against a local HTTP server answering with the given NDJSON body. */
describe(GatewayHttpClient.name, () => {
  let body = '';
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(body));
  let client: GatewayHttpClient;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new GatewayHttpClient({ gatewayUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serviceApiKey: 'key', httpTimeoutMs: 2_000 });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function linesOf(ndjson: string): Promise<GatewayLineText[]> {
    body = ndjson;
    const lines: GatewayLineText[] = [];
    for await (const chunk of client.linesOfDay('DE00', '2025-01-02')) lines.push(...chunk);
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

  it('refuses a record cut short or miscounted', async () => {
    await expect(linesOf('{"lineId":"a"}\n')).rejects.toThrow('ended its answer without the end line after 1 lines: the record was cut short');
    await expect(linesOf('{"lineId":"a"}\n{"end":true,"lines":2}\n')).rejects.toThrow('announced 2 lines and sent 1');
  });
});
