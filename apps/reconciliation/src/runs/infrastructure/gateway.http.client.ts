import { z } from 'zod';

/** Lines asked per page of `GET /v1/files/{id}/lines` (the gateway's own maximum is 1,000). */
export const GATEWAY_LINES_PAGE_SIZE = 500;
/** Pages read per file: a file of more lines than this is checked only in part, and the run says so. */
export const GATEWAY_PAGES_PER_FILE_MAX = 2_000;

const pageSchema = z.object({
  lines: z.array(z.record(z.string(), z.unknown())).max(GATEWAY_LINES_PAGE_SIZE),
  nextAfter: z.number().int().min(0).optional(),
});

export class GatewayHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayHttpError';
  }
}

/** The bank gateway's record of a file's parsed lines, as its HTTP API lists them. */
export class GatewayHttpClient {
  constructor(private readonly settings: { readonly gatewayUrl: string; readonly serviceApiKey: string; readonly httpTimeoutMs: number }) {}

  /** Every stored line of a file (each `{lineId, account, statementId, lineNo, amount, currency, ...}`), in line order. */
  async linesOfFile(fileId: string): Promise<{ lines: Record<string, unknown>[]; complete: boolean }> {
    const lines: Record<string, unknown>[] = [];
    let after = 0;
    for (let page = 0; page < GATEWAY_PAGES_PER_FILE_MAX; page += 1) {
      const url = `${this.settings.gatewayUrl}/v1/files/${encodeURIComponent(fileId)}/lines?after=${after}&limit=${GATEWAY_LINES_PAGE_SIZE}`;
      let response: Response;
      try {
        response = await fetch(url, { headers: { 'x-api-key': this.settings.serviceApiKey }, signal: AbortSignal.timeout(this.settings.httpTimeoutMs) });
      } catch (error) {
        throw new GatewayHttpError(`bank gateway at ${this.settings.gatewayUrl} is unreachable: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (response.status !== 200) throw new GatewayHttpError(`bank gateway ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      const parsed = pageSchema.safeParse(await response.json());
      if (!parsed.success) throw new GatewayHttpError(`bank gateway ${url} answered an unexpected page: ${parsed.error.issues[0]?.message ?? ''}`);
      lines.push(...parsed.data.lines);
      if (parsed.data.nextAfter === undefined) return { lines, complete: true };
      after = parsed.data.nextAfter;
    }
    return { lines, complete: false };
  }
}
