export * from './canonical';
export * from './parser.port';
export { CAMT_VERSION_MAX, CAMT_VERSION_MIN, type CamtFormat, type CamtMessageType, camtMessageTypeOf, camtMessageTypeOfHead } from './camt/camt-message-type';
export {
  CamtStreamParser,
  type CamtParseOptions,
  ENTRY_XML_NODES_MAX,
  RAW_SNIPPET_LENGTH_MAX,
  STATEMENT_HEADER_REASON_PREFIX,
  XML_DEPTH_MAX,
  XML_FIELD_TEXT_LENGTH_MAX,
  XML_TOKEN_LENGTH_MAX,
  parseCamt,
} from './camt/camt.parser';
export { TRANSACTIONS_PER_ENTRY_MAX } from './camt/camt-entry.mapper';
export { decodeBuffer, decodeChunks } from './decode/decode-stream';
export {
  DETECTION_HEAD_BYTES,
  type DetectedEncoding,
  ENCODING_OPTIONS,
  type EncodingOption,
  detectEncoding,
  isEncodingOption,
  isValidUtf8,
  looksLikeGb18030,
} from './decode/encoding-detection';
export { LINE_LENGTH_MAX, type LineReaderOptions, readLines } from './decode/line-reader';
export { type DetectFormatOptions, type FormatOption, detectFormat, isFormatOption } from './detect';
export { READ_CHUNK_BYTES, type ReadStatementOptions, STATEMENT_FILE_BYTES_MAX, parseStatementBytes, readStatementFile } from './read-statement';
export { StatementChecker, type StatementFinding, type StatementFindingKind } from './checks/statement-checker';
export { mt940Parser, mt942Parser, parseMt9xx } from './mt940/mt940.parser';
export { bai2Parser, parseBai2 } from './bai2/bai2.parser';
export { CSV_PROFILES, type CsvProfile, type CsvProfileSpec, csvParserFor, csvParserForProfile, loadCsvProfile } from './csv/csv.parser';
