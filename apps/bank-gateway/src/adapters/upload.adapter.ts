import type { AdapterCapabilities, BankAdapter, DetectedFile, FetchedFile, ParseOptions } from './bank-adapter.port';
import type { CanonicalRecord } from '@recon/statement-formats';
import { detectStandard, parseStandard } from './standard-statement.parser';

/** Files pushed to `POST /v1/statements`: nothing to fetch; every format the statement library reads. */
export class UploadAdapter implements BankAdapter {
  capabilities(): AdapterCapabilities {
    return { name: 'upload', transports: [], formats: ['*'] };
  }

  // eslint-disable-next-line require-yield
  async *fetch(): AsyncIterable<FetchedFile> {
    return;
  }

  detect(head: Buffer): DetectedFile | undefined {
    return detectStandard(head);
  }

  parse(content: Buffer, options: ParseOptions): AsyncIterable<CanonicalRecord> {
    return parseStandard(content, options);
  }
}

export default new UploadAdapter();
