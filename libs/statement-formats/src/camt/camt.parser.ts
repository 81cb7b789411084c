import { SaxesParser } from 'saxes';
import { type CanonicalRecord, type RejectedRecord, UnreadableStatementError } from '../canonical';
import { CamtFieldError } from './camt-fields';
import { mapCamtEntry } from './camt-entry.mapper';
import { type CamtFormat, type CamtMessageType, camtMessageTypeOfAttributes } from './camt-message-type';
import { CAMT_HEADER_ELEMENTS, type CamtStatementHeader, mapCamtStatementHeader } from './camt-statement.mapper';
import { type XmlNode, appendChild, childOf, newXmlNode, resetXmlNode, serializeXmlNode } from './xml-node';
import { DOCTYPE_REFUSED_MESSAGE, XmlAttributes, type XmlName, type XmlTokenHandler, XmlTokenizer, XmlVersionNotHandled } from './xml-tokenizer';

/** Deepest element nesting accepted anywhere in the document; camt needs about 12. */
export const XML_DEPTH_MAX = 64;
/** Longest single text node (or tag) held in memory; longer means a hostile or broken file. */
export const XML_TOKEN_LENGTH_MAX = 1024 * 1024;
/** Longest text kept for one field of an entry; a longer one rejects the entry. */
export const XML_FIELD_TEXT_LENGTH_MAX = 64 * 1024;
/** Elements kept for one entry subtree (a batch of thousands of TxDtls fits); more rejects the entry. */
export const ENTRY_XML_NODES_MAX = 200_000;
/** Elements kept for one header element (Acct, Bal...). */
const HEADER_XML_NODES_MAX = 1_000;
/** Entry nodes kept for reuse after an entry; a bigger entry's extra nodes are dropped. */
const ENTRY_NODE_POOL_KEPT = 4_096;
/** Length of the XML snippet kept in a rejected record's `raw`. */
export const RAW_SNIPPET_LENGTH_MAX = 2_000;

/**
 * Element names the camt mapping looks for, given to the tokenizer so that element names come out as these very
 * (interned) strings and every name comparison in the parser and mappers is a reference check.
 */
const CAMT_ELEMENT_NAMES: ReadonlyMap<string, string> = new Map(
  [
    ...['Document', 'BkToCstmrStmt', 'BkToCstmrAcctRpt', 'BkToCstmrDbtCdtNtfctn', 'Stmt', 'Rpt', 'Ntfctn', 'Ntry', 'NtryDtls', 'Btch', 'TxDtls'],
    ...['Id', 'ElctrncSeqNb', 'LglSeqNb', 'FrToDt', 'FrDt', 'FrDtTm', 'ToDt', 'ToDtTm', 'Acct', 'Ccy', 'Bal', 'Tp', 'CdOrPrtry', 'Cd', 'Prtry'],
    ...['IBAN', 'Othr', 'PrtryAcct', 'BBAN', 'UPIC', 'Amt', 'CdtDbtInd', 'Sts', 'RvslInd', 'BookgDt', 'ValDt', 'Dt', 'DtTm', 'AcctSvcrRef'],
    ...['BkTxCd', 'Domn', 'Fmly', 'SubFmlyCd', 'Refs', 'EndToEndId', 'InstrId', 'PmtInfId', 'MsgId', 'RltdPties', 'Dbtr', 'Cdtr', 'UltmtDbtr'],
    ...['UltmtCdtr', 'DbtrAcct', 'CdtrAcct', 'Nm', 'Pty', 'Agt', 'FinInstnId', 'RmtInf', 'Ustrd', 'Strd', 'CdtrRefInf', 'Ref', 'AddtlTxInf'],
    ...['AddtlNtryInf', 'AmtDtls', 'TxAmt', 'CntrValAmt', 'InstdAmt'],
  ].map((name) => [name, name]),
);

/** Largest piece of text handed to the XML tokenizer at once by parseCamt. */
export const CAMT_WRITE_CHARACTERS_MAX = 1024 * 1024;

/** Reason prefix of rejected records that concern a record's header rather than one entry. */
export const STATEMENT_HEADER_REASON_PREFIX = 'statement header: ';

export interface CamtParseOptions {
  /** When the caller asked for one camt type (`--format camt.053`), a document of another type is unreadable. */
  readonly expectedFormat?: CamtFormat;
  /**
   * `tokenizer` (default): the project's XmlTokenizer. `saxes`: the generic saxes parser, about twice as slow; kept
   * as the reference the tokenizer is tested against, and for documents declaring XML 1.1.
   */
  readonly xmlReader?: 'tokenizer' | 'saxes';
}

interface Capture {
  readonly kind: 'entry' | 'header';
  readonly root: XmlNode;
  /** Open elements of the subtree; for entries, the parser's one reused stack. */
  readonly stack: XmlNode[];
  readonly startDepth: number;
  readonly entryIndex: number;
  nodeCount: number;
  nodesMax: number;
  /** Why the subtree could not be kept whole (too big, nested entry...); the entry is then rejected. */
  overflowReason: string | undefined;
  /** Indexes of `Ntry` elements illegally nested inside this one; each is rejected on its own. */
  nestedEntryIndexes: number[] | undefined;
  /** The entry does not sit directly in a Stmt/Rpt/Ntfctn. */
  misplaced: boolean;
}

interface RecordState {
  readonly header: CamtStatementHeader;
  emitted: boolean;
  statementId: string | undefined;
  fatalReason: string | undefined;
  entryCount: number;
}

function localName(qualifiedName: string): string {
  const colon = qualifiedName.indexOf(':');
  return colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1);
}

/**
 * Push-style streaming camt.052/053/054 reader. Feed decoded text with `write`, then `end`; each call returns the
 * records completed by that text, so the caller yields per chunk, not per XML event. XML is read by the
 * project's XmlTokenizer (XML 1.0, no DTD); a document declaring another XML version (1.1) is read by saxes.
 * Memory holds one entry subtree and the current record's header, never the document.
 * Entries are numbered 1, 2, 3... across the file (`lineNo`), counting every `Ntry` element, so that every
 * entry in the file becomes exactly one `entry` or `rejected` record.
 */
export class CamtStreamParser implements XmlTokenHandler {
  private tokenizer: XmlTokenizer | undefined;
  private saxes: SaxesSource | undefined;
  private readonly out: CanonicalRecord[] = [];
  private depth = 0;
  private rootSeen = false;
  private messageType: CamtMessageType | undefined;
  private messageDepthOpen = false;
  private record: RecordState | undefined;
  private capture: Capture | undefined;
  private entryIndex = 0;
  private recordCount = 0;
  private textSeen = false;
  /** Reused storage of the entry subtree (see startCapture). */
  private readonly nodePool: XmlNode[] = [];
  private nodesUsed = 0;
  private readonly entryStack: XmlNode[] = [];

  constructor(private readonly options: CamtParseOptions = {}) {
    if (options.xmlReader === 'saxes') this.saxes = new SaxesSource(this);
    else this.tokenizer = new XmlTokenizer(this, XML_TOKEN_LENGTH_MAX, CAMT_ELEMENT_NAMES);
  }

  get format(): CamtFormat | undefined {
    return this.messageType?.format;
  }

  write(text: string): CanonicalRecord[] {
    let chunk = text;
    if (!this.textSeen) {
      // Some exporters put blank lines before the XML declaration; strictly malformed, harmless, so skipped.
      chunk = chunk.replace(/^[\s\uFEFF]+/, '');
      if (chunk.length === 0) return [];
      this.textSeen = true;
    }
    if (this.tokenizer !== undefined) {
      try {
        this.tokenizer.write(chunk);
      } catch (error: unknown) {
        if (!(error instanceof XmlVersionNotHandled)) throw error;
        // Nothing was reported yet: the declaration is the document's first token.
        this.tokenizer = undefined;
        this.saxes = new SaxesSource(this);
        this.saxes.write(error.written);
      }
    } else {
      this.saxes!.write(chunk);
    }
    return this.drain();
  }

  end(): CanonicalRecord[] {
    if (!this.rootSeen) throw new UnreadableStatementError('the file holds no XML document (no root element)');
    if (this.depth > 0) {
      const open = (this.tokenizer ?? this.saxes!).openElements.map((name, index) => (index < 8 ? name.local : '…'));
      throw new UnreadableStatementError(`the XML is truncated: it ends inside <${open.join('/')}>`);
    }
    if (this.tokenizer !== undefined) this.tokenizer.end();
    else this.saxes!.end();
    if (this.recordCount === 0) {
      const type = this.messageType!;
      throw new UnreadableStatementError(`the ${type.format} document holds no <${type.recordElement}>; a ${type.format} message needs at least one`);
    }
    return this.drain();
  }

  private drain(): CanonicalRecord[] {
    if (this.out.length === 0) return [];
    return this.out.splice(0, this.out.length);
  }

  /** XmlTokenHandler: a start tag. */
  openTag(xmlName: XmlName, attributes: XmlAttributes): void {
    this.depth += 1;
    if (this.depth > XML_DEPTH_MAX) throw new UnreadableStatementError(`XML elements are nested deeper than ${XML_DEPTH_MAX} levels`);
    const name = xmlName.local;
    const capture = this.capture;
    if (capture !== undefined) {
      if (name === 'Ntry') {
        // Every Ntry gets its index, even one misplaced inside another element, so none goes unaccounted for.
        this.entryIndex += 1;
        (capture.nestedEntryIndexes ??= []).push(this.entryIndex);
        capture.overflowReason ??= capture.kind === 'entry' ? 'it contains another Ntry element inside it' : 'it contains an Ntry element';
      }
      if (capture.overflowReason !== undefined) return;
      capture.nodeCount += 1;
      if (capture.nodeCount > capture.nodesMax) {
        capture.overflowReason = `it has more than ${capture.nodesMax} XML elements`;
        return;
      }
      const ccy = attributes.count === 0 ? undefined : attributes.get('Ccy');
      const node = capture.kind === 'entry' ? this.pooledNode(name, ccy) : newXmlNode(name, ccy);
      appendChild(capture.stack[capture.stack.length - 1]!, node);
      capture.stack.push(node);
      return;
    }
    if (this.depth === 1) {
      this.openRoot(xmlName.qualified, name, attributes.toRecord());
      return;
    }
    const messageType = this.messageType!;
    if (this.depth === 2) {
      // 001.01 messages suffix the version to the message element (BkToCstmrStmtV01).
      if (name !== messageType.messageElement && name !== `${messageType.messageElement}V01`) {
        throw new UnreadableStatementError(`the ${messageType.format} document holds <${name}>, expected <${messageType.messageElement}>`);
      }
      this.messageDepthOpen = true;
      return;
    }
    if (this.depth === 3 && this.messageDepthOpen && name === messageType.recordElement) {
      this.recordCount += 1;
      this.record = { header: { nodes: [] }, emitted: false, statementId: undefined, fatalReason: undefined, entryCount: 0 };
      return;
    }
    if (name === 'Ntry') {
      this.entryIndex += 1;
      this.startCapture('entry', name, attributes, this.record === undefined || this.depth !== 4);
      return;
    }
    if (this.depth === 4 && this.record !== undefined && !this.record.emitted && CAMT_HEADER_ELEMENTS.has(name)) {
      this.startCapture('header', name, attributes, false);
    }
  }

  private openRoot(qualifiedName: string, name: string, attributes: Readonly<Record<string, string>>): void {
    this.rootSeen = true;
    const messageType = camtMessageTypeOfAttributes(qualifiedName, attributes);
    if (name !== 'Document' || messageType === undefined) {
      throw new UnreadableStatementError(`not a camt.052/053/054 document: the root element <${qualifiedName.slice(0, 60)}> has no camt namespace`);
    }
    if (this.options.expectedFormat !== undefined && this.options.expectedFormat !== messageType.format) {
      throw new UnreadableStatementError(`the file is ${messageType.format}, not ${this.options.expectedFormat} as claimed`);
    }
    this.messageType = messageType;
  }

  private startCapture(kind: Capture['kind'], name: string, attributes: XmlAttributes, misplaced: boolean): void {
    const ccy = attributes.count === 0 ? undefined : attributes.get('Ccy');
    let root: XmlNode;
    let stack: XmlNode[];
    if (kind === 'entry') {
      // Entry subtrees are mapped (or serialised) as soon as they close and never kept: their nodes and stack are
      // reused from entry to entry instead of allocated, which spares most of the garbage per entry. What a huge
      // entry added to the pool beyond ENTRY_NODE_POOL_KEPT is let go.
      if (this.nodePool.length > ENTRY_NODE_POOL_KEPT) this.nodePool.length = ENTRY_NODE_POOL_KEPT;
      this.nodesUsed = 0;
      root = this.pooledNode(name, ccy);
      stack = this.entryStack;
      stack.length = 0;
      stack.push(root);
    } else {
      root = newXmlNode(name, ccy);
      stack = [root];
    }
    this.capture = {
      kind,
      root,
      stack,
      startDepth: this.depth,
      entryIndex: this.entryIndex,
      nodeCount: 1,
      nodesMax: kind === 'entry' ? ENTRY_XML_NODES_MAX : HEADER_XML_NODES_MAX,
      overflowReason: undefined,
      nestedEntryIndexes: undefined,
      misplaced,
    };
  }

  /** A node of the entry pool, set up as a fresh leaf. */
  private pooledNode(name: string, ccy: string | undefined): XmlNode {
    const pool = this.nodePool;
    const index = this.nodesUsed;
    this.nodesUsed = index + 1;
    if (index === pool.length) {
      const node = newXmlNode(name, ccy);
      pool.push(node);
      return node;
    }
    return resetXmlNode(pool[index]!, name, ccy);
  }

  /** XmlTokenHandler: character data, `source.slice(start, end)`. */
  text(source: string, start: number, end: number): void {
    const capture = this.capture;
    if (capture === undefined || capture.overflowReason !== undefined) return;
    const node = capture.stack[capture.stack.length - 1]!;
    // camt has no mixed content: text beside child elements is indentation, not data.
    if (node.firstChild !== undefined) return;
    const length = end - start;
    if (node.text.length + length > XML_FIELD_TEXT_LENGTH_MAX) {
      capture.overflowReason = `its element <${node.name}> has a text longer than ${XML_FIELD_TEXT_LENGTH_MAX} characters`;
      return;
    }
    const text = start === 0 && end === source.length ? source : source.slice(start, end);
    node.text = node.text.length === 0 ? text : node.text + text;
  }

  /** XmlTokenHandler: an end tag. */
  closeTag(): void {
    const capture = this.capture;
    if (capture !== undefined) {
      if (this.depth === capture.startDepth) {
        this.capture = undefined;
        if (capture.kind === 'entry') this.finishEntry(capture);
        else this.finishHeaderElement(capture);
      } else if (capture.overflowReason === undefined) {
        capture.stack.pop();
      }
    } else if (this.depth === 3 && this.record !== undefined) {
      this.finishRecord(this.record);
      this.record = undefined;
    } else if (this.depth === 2) {
      this.messageDepthOpen = false;
    }
    this.depth -= 1;
  }

  private finishHeaderElement(capture: Capture): void {
    const record = this.record!;
    if (capture.overflowReason !== undefined) {
      this.reject(this.entryIndex + 1, `${STATEMENT_HEADER_REASON_PREFIX}<${capture.root.name}> is unusable: ${capture.overflowReason}`, capture.root);
      for (const nestedIndex of capture.nestedEntryIndexes ?? []) this.reject(nestedIndex, `Ntry inside <${capture.root.name}>; not read`, capture.root);
      return;
    }
    record.header.nodes.push(capture.root);
  }

  /** Emits the statement record before its first entry (or at its end when it has none). */
  private emitStatement(record: RecordState, firstEntryCurrency: string | undefined, nextLineNo: number): void {
    record.emitted = true;
    const mapped = mapCamtStatementHeader(record.header, this.messageType!.format, firstEntryCurrency);
    const raw = (): string =>
      record.header.nodes
        .map((node) => serializeXmlNode(node, RAW_SNIPPET_LENGTH_MAX))
        .join('')
        .slice(0, RAW_SNIPPET_LENGTH_MAX);
    if (mapped.statement === undefined) {
      record.fatalReason = mapped.fatalReason;
      this.out.push(rejected(nextLineNo, `${STATEMENT_HEADER_REASON_PREFIX}${mapped.fatalReason ?? 'unusable'}; its entries are not read`, raw()));
      return;
    }
    record.statementId = mapped.statement.statementId;
    this.out.push(mapped.statement);
    for (const problem of mapped.problems) this.out.push(rejected(nextLineNo, `${STATEMENT_HEADER_REASON_PREFIX}${record.statementId}: ${problem}`, raw()));
    // The header is no longer needed once mapped; drop it so a long statement holds nothing but counters.
    record.header.nodes.length = 0;
  }

  private finishEntry(capture: Capture): void {
    const record = this.record;
    const lineNo = capture.entryIndex;
    if (capture.misplaced || record === undefined) {
      this.reject(lineNo, `Ntry outside a ${this.messageType!.recordElement} element; the entry belongs to no statement`, capture.root);
      return;
    }
    record.entryCount += 1;
    if (!record.emitted) this.emitStatement(record, childOf(capture.root, 'Amt')?.ccy?.trim(), lineNo);
    if (capture.overflowReason !== undefined) {
      this.reject(lineNo, `entry ${lineNo} is unreadable: ${capture.overflowReason}`, capture.root);
      for (const nestedIndex of capture.nestedEntryIndexes ?? []) this.reject(nestedIndex, 'Ntry nested inside another Ntry; not read', capture.root);
      return;
    }
    if (record.statementId === undefined) {
      this.reject(lineNo, `entry ${lineNo} is not read: its statement header was rejected (${record.fatalReason ?? 'unusable'})`, capture.root);
      return;
    }
    try {
      this.out.push(mapCamtEntry(capture.root, record.statementId, lineNo));
    } catch (error: unknown) {
      if (!(error instanceof CamtFieldError)) throw error;
      this.reject(lineNo, `entry ${lineNo}: ${error.message}`, capture.root);
    }
  }

  private finishRecord(record: RecordState): void {
    if (!record.emitted) this.emitStatement(record, undefined, this.entryIndex + 1);
  }

  private reject(lineNo: number, reason: string, node: XmlNode): void {
    this.out.push(rejected(lineNo, reason, serializeXmlNode(node, RAW_SNIPPET_LENGTH_MAX)));
  }
}

/**
 * Drives the parser from saxes, for documents declaring an XML version the tokenizer does not read (1.1).
 * `charactersSinceEvent` bounds what saxes buffers for one text or tag (XML_TOKEN_LENGTH_MAX plus one chunk).
 */
class SaxesSource {
  private readonly sax = new SaxesParser({ xmlns: false, position: false });
  private readonly attributes = new XmlAttributes();
  private readonly names = new Map<string, XmlName>();
  private charactersSinceEvent = 0;
  private eventSeen = false;
  /** The elements open at this point, outermost first. */
  readonly openElements: XmlName[] = [];

  constructor(handler: XmlTokenHandler) {
    this.sax.on('doctype', () => {
      throw new UnreadableStatementError(DOCTYPE_REFUSED_MESSAGE);
    });
    this.sax.on('error', (error) => {
      throw new UnreadableStatementError(`malformed XML: ${error.message}`);
    });
    this.sax.on('opentag', (tag) => {
      this.eventSeen = true;
      const attributes = this.attributes;
      attributes.clear();
      for (const [name, value] of Object.entries(tag.attributes)) attributes.add(name, value);
      const name = this.nameOf(tag.name);
      this.openElements.push(name);
      handler.openTag(name, attributes);
    });
    this.sax.on('closetag', (tag) => {
      this.eventSeen = true;
      this.openElements.pop();
      handler.closeTag(this.nameOf(tag.name));
    });
    this.sax.on('text', (text) => {
      this.eventSeen = true;
      handler.text(text, 0, text.length);
    });
    this.sax.on('cdata', (text) => {
      this.eventSeen = true;
      handler.text(text, 0, text.length);
    });
  }

  write(chunk: string): void {
    this.eventSeen = false;
    this.sax.write(chunk);
    if (this.eventSeen) {
      this.charactersSinceEvent = 0;
    } else {
      this.charactersSinceEvent += chunk.length;
      if (this.charactersSinceEvent > XML_TOKEN_LENGTH_MAX) {
        throw new UnreadableStatementError(`an XML text or tag is longer than ${XML_TOKEN_LENGTH_MAX} characters`);
      }
    }
  }

  end(): void {
    this.sax.close();
  }

  private nameOf(qualified: string): XmlName {
    let name = this.names.get(qualified);
    if (name === undefined) {
      name = { qualified, local: localName(qualified) };
      if (this.names.size < 10_000) this.names.set(qualified, name);
    }
    return name;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function rejected(lineNo: number, reason: string, raw: string): RejectedRecord {
  return { kind: 'rejected', lineNo, reason, raw };
}

/** Parses decoded camt text chunks into canonical records, yielding the records of each chunk together. */
export async function* parseCamt(chunks: AsyncIterable<string>, options: CamtParseOptions = {}): AsyncGenerator<CanonicalRecord> {
  const parser = new CamtStreamParser(options);
  for await (const chunk of chunks) {
    // A huge chunk is written in pieces so that the records buffered per write stay bounded.
    let start = 0;
    while (start < chunk.length) {
      let end = Math.min(chunk.length, start + CAMT_WRITE_CHARACTERS_MAX);
      // Never cut between the two halves of a surrogate pair.
      if (end < chunk.length && isHighSurrogate(chunk.charCodeAt(end - 1))) end -= 1;
      const records = parser.write(start === 0 && end === chunk.length ? chunk : chunk.slice(start, end));
      for (const record of records) yield record;
      start = end;
    }
  }
  for (const record of parser.end()) yield record;
}
