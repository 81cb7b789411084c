import { UnreadableStatementError } from '../canonical';

/**
 * A streaming XML 1.0 tokenizer for the subset bank statements use: elements, attributes, text, CDATA, comments,
 * processing instructions, the five predefined entities and numeric character references. DOCTYPE (and so every
 * DTD, internal or external entity) is refused. It replaces saxes on the camt hot path: it calls its handler
 * directly (no event emitter, no tag objects), finds markup with `indexOf` rather than a state machine per
 * character, and interns element names, so a camt entry costs a fraction of a generic SAX parser's work.
 *
 * Well-formedness is checked as saxes (the reference, used in the tests as oracle) checks it with `xmlns: false`:
 * the same documents are accepted and refused, the same text and attribute values are reported (line ends
 * normalised to `\n`, attribute white space to spaces, entities decoded), and refusals carry saxes' messages.
 * Two deliberate differences: a DOCTYPE is refused as soon as it starts (saxes reads it first), and an unpaired
 * surrogate is a disallowed character (saxes silently swallows the next character).
 *
 * Memory: the tokenizer keeps only the open element names and the unfinished token at the end of a chunk; an
 * unfinished token longer than `tokenLengthMax` characters (a text, tag or comment without end) is refused.
 */

/** Names and values of one start tag's attributes; reused from tag to tag, so handlers copy what they keep. */
export class XmlAttributes {
  names: string[] = [];
  values: string[] = [];
  count = 0;
  /** Names seen, for a tag with many attributes (a linear duplicate check would be quadratic on hostile input). */
  private seen: Set<string> | undefined;

  get(name: string): string | undefined {
    for (let index = 0; index < this.count; index += 1) if (this.names[index] === name) return this.values[index];
    return undefined;
  }

  toRecord(): Record<string, string> {
    const record: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let index = 0; index < this.count; index += 1) record[this.names[index]!] = this.values[index]!;
    return record;
  }

  clear(): void {
    this.count = 0;
    this.seen = undefined;
  }

  /** Adds an attribute; false (and nothing added) when the tag already has one of that name. */
  add(name: string, value: string): boolean {
    const count = this.count;
    if (count < 8) {
      for (let index = 0; index < count; index += 1) if (this.names[index] === name) return false;
    } else {
      if (this.seen === undefined) this.seen = new Set(this.names.slice(0, count));
      if (this.seen.has(name)) return false;
      this.seen.add(name);
    }
    this.names[count] = name;
    this.values[count] = value;
    this.count = count + 1;
    return true;
  }
}

/** An element name as written (`ns:Ntry`) and without its prefix (`Ntry`); interned, so compare freely. */
export interface XmlName {
  readonly qualified: string;
  readonly local: string;
}

export interface XmlTokenHandler {
  /** A start tag (a self-closing tag is reported as start then end). */
  openTag(name: XmlName, attributes: XmlAttributes): void;
  /**
   * Character data inside the root element, as `source.slice(start, end)`; a handler that does not need it saves
   * the copy. Text is reported in pieces split at markup (comments, CDATA sections, PIs), as saxes does.
   */
  text(source: string, start: number, end: number): void;
  closeTag(name: XmlName): void;
}

/** Thrown when the XML declaration asks for another XML version than 1.0; the caller may hand the text to saxes. */
export class XmlVersionNotHandled extends Error {
  constructor(
    readonly version: string,
    /** Everything written so far (the declaration is always the first token, so nothing was reported yet). */
    readonly written: string,
  ) {
    super(`XML version ${version} is read by the generic parser`);
    this.name = 'XmlVersionNotHandled';
  }
}

export const DOCTYPE_REFUSED_MESSAGE = 'the XML has a document type declaration (<!DOCTYPE>); DTDs and external entities are refused';

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUAL = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const COLON = 0x3a;
const CR = 0x0d;
const NOT_FOUND = Number.MAX_SAFE_INTEGER;

/** ASCII part of NameStartChar / NameChar (XML 1.0 fifth edition). */
const ASCII_NAME_START = new Uint8Array(128);
const ASCII_NAME = new Uint8Array(128);
for (let code = 0; code < 128; code += 1) {
  const start = (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === COLON;
  ASCII_NAME_START[code] = start ? 1 : 0;
  ASCII_NAME[code] = start || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e ? 1 : 0;
}

/** NameStartChar beyond ASCII, for a code point (surrogate pairs combined by the caller). */
function isNonAsciiNameStart(code: number): boolean {
  return (
    (code >= 0xc0 && code <= 0xd6) ||
    (code >= 0xd8 && code <= 0xf6) ||
    (code >= 0xf8 && code <= 0x2ff) ||
    (code >= 0x370 && code <= 0x37d) ||
    (code >= 0x37f && code <= 0x1fff) ||
    (code >= 0x200c && code <= 0x200d) ||
    (code >= 0x2070 && code <= 0x218f) ||
    (code >= 0x2c00 && code <= 0x2fef) ||
    (code >= 0x3001 && code <= 0xd7ff) ||
    (code >= 0xf900 && code <= 0xfdcf) ||
    (code >= 0xfdf0 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0xeffff)
  );
}

function isNonAsciiNameChar(code: number): boolean {
  return isNonAsciiNameStart(code) || code === 0xb7 || (code >= 0x300 && code <= 0x36f) || (code >= 0x203f && code <= 0x2040);
}

export function isXmlNameStartCode(code: number): boolean {
  return code < 128 ? ASCII_NAME_START[code] === 1 : isNonAsciiNameStart(code);
}

export function isXmlNameCode(code: number): boolean {
  return code < 128 ? ASCII_NAME[code] === 1 : isNonAsciiNameChar(code);
}

/** Whether `text` is an XML name (used to word an entity error as saxes does). */
function isXmlName(text: string): boolean {
  let first = true;
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (first ? !isXmlNameStartCode(code) : !isXmlNameCode(code)) return false;
    first = false;
  }
  return !first;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x09 || code === CR;
}

/** Characters XML 1.0 forbids anywhere, and every surrogate (pairs are then checked one by one). */
const SUSPECT_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/g;

/** XML 1.0 `Char` production, for numeric character references. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x09 ||
    code === 0x0a ||
    code === 0x0d ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const XML_DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"(1\.[0-9]+)"|'(1\.[0-9]+)')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>$/;

const NAME_CACHE_SIZE = 1024;

/** `\r\n` and lone `\r` become `\n` (XML end-of-line handling). */
function normalizeLineEnds(text: string): string {
  return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

export class XmlTokenizer {
  /** The text being tokenized: the unfinished token of the previous chunk followed by the current chunk. */
  private buffer = '';
  private position = 0;
  private readonly openNames: XmlName[] = [];
  /** The name-cache slot of each open element's name, for the next-name prediction. */
  private readonly openSlots: number[] = [];
  private readonly attributes = new XmlAttributes();
  private readonly nameCache: (XmlName | undefined)[] = new Array<XmlName | undefined>(NAME_CACHE_SIZE).fill(undefined);
  /** Per name-cache slot, 1 + the slot of the name whose start tag last followed its start (or end) tag; 0: none. */
  private readonly slotAfterOpen = new Uint16Array(NAME_CACHE_SIZE);
  private readonly slotAfterClose = new Uint16Array(NAME_CACHE_SIZE);
  /** Slot of the name of the last start or end tag (-1 before the first), and whether it was a start tag. */
  private lastEventSlot = -1;
  private lastEventOpened = false;
  private sawRoot = false;
  private closedRoot = false;
  private xmlDeclarationPossible = true;
  private started = false;
  /** Next `&`, `\r` and `]]>` at or after `position` in `buffer` (NOT_FOUND when none), found lazily. */
  private nextAmpersand = -1;
  private nextCarriageReturn = -1;
  private nextCdataEnd = -1;

  constructor(
    private readonly handler: XmlTokenHandler,
    private readonly tokenLengthMax: number,
    /**
     * Local names the handler compares with string literals, each mapped to itself (the literal). A name found here
     * is reported as that very string, so the handler's comparisons are identity checks rather than character
     * comparisons (V8 compares two internalised strings by reference). Looked up once per new name.
     */
    private readonly knownNames?: ReadonlyMap<string, string>,
  ) {}

  /** The elements open at this point, outermost first (read-only for callers). */
  get openElements(): readonly XmlName[] {
    return this.openNames;
  }

  write(chunk: string): void {
    if (chunk.length === 0) return;
    if (!this.started) {
      this.started = true;
      // A byte-order mark before the document is not part of it.
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const carried = this.buffer.length - this.position;
    if (this.cutTagStart >= 0) {
      this.cutTagStart -= this.position;
      this.cutTagScanned -= this.position;
    }
    // Joined, not `+`: `+` makes a cons string, and every charCodeAt on a cons string (even once flattened) goes
    // through an indirection that made the whole tokenizer about 15 % slower; `join` builds a flat string.
    this.buffer = carried === 0 ? chunk : [this.buffer.slice(this.position), chunk].join('');
    this.position = 0;
    this.nextAmpersand = -1;
    this.nextCarriageReturn = -1;
    this.nextCdataEnd = -1;
    // Forbidden characters are found once per chunk (a regex scan is much faster than a check per character);
    // the tokens before the first one are still reported, as a character-by-character parser would. A high
    // surrogate carried from the previous chunk is checked again now that its next character is here.
    const suspectPattern = SUSPECT_CHARACTER;
    suspectPattern.lastIndex = carried > 0 && isHighSurrogate(this.buffer.charCodeAt(carried - 1)) ? carried - 1 : carried;
    const suspect = suspectPattern.exec(this.buffer);
    const limit = suspect === null ? this.buffer.length : this.firstForbiddenIndex(suspect.index);
    // A high surrogate at the very end waits for its low half.
    let end = limit;
    if (end === this.buffer.length && end > 0 && isHighSurrogate(this.buffer.charCodeAt(end - 1))) end -= 1;
    this.tokenize(end);
    if (limit < this.buffer.length) this.fail('disallowed character.');
    if (this.buffer.length - this.position > this.tokenLengthMax) {
      throw new UnreadableStatementError(`an XML text or tag is longer than ${this.tokenLengthMax} characters`);
    }
    if (this.position === this.buffer.length) {
      this.buffer = '';
      this.position = 0;
    }
  }

  /** Checks the end of the document; throws for anything unfinished. */
  end(): void {
    if (this.position < this.buffer.length) {
      const rest = this.buffer.slice(this.position);
      this.buffer = '';
      this.position = 0;
      if (this.openNames.length > 0 || !isAllSpace(rest, 0, rest.length)) {
        if (this.openNames.length === 0 && rest.charCodeAt(0) !== LT) this.fail('text data outside of root node.');
        this.fail('unexpected end.');
      }
    }
    if (!this.sawRoot) this.fail('document must contain a root element.');
    if (this.openNames.length > 0) this.fail(`unclosed tag: ${this.openNames[this.openNames.length - 1]!.qualified}`);
  }

  private fail(message: string): never {
    throw new UnreadableStatementError(`malformed XML: ${message}`);
  }

  /** From a suspect character, the first that is really forbidden (a well-paired surrogate is fine). */
  private firstForbiddenIndex(suspect: number): number {
    const buffer = this.buffer;
    for (let index = suspect; index < buffer.length; index += 1) {
      const code = buffer.charCodeAt(index);
      if (isHighSurrogate(code)) {
        if (index + 1 === buffer.length) return buffer.length;
        const next = buffer.charCodeAt(index + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          index += 1;
          continue;
        }
        return index;
      }
      if (code < 0x20 ? code !== 0x09 && code !== 0x0a && code !== CR : (code >= 0xdc00 && code <= 0xdfff) || code === 0xfffe || code === 0xffff) return index;
    }
    return buffer.length;
  }

  /** Tokenizes `buffer` from `position` up to `end`; leaves `position` at the first unfinished token. */
  private tokenize(end: number): void {
    const buffer = this.buffer;
    let position = this.position;
    while (position < end) {
      if (buffer.charCodeAt(position) !== LT) {
        const next = this.readText(position, end);
        if (next < 0) break;
        this.xmlDeclarationPossible = false;
        position = next;
        continue;
      }
      if (position + 1 >= end) break;
      const second = buffer.charCodeAt(position + 1);
      let next: number;
      if (second === SLASH) next = this.readCloseTag(position, end);
      else if (second === BANG) next = this.readBang(position, end);
      else if (second === QUESTION) next = this.readProcessingInstruction(position, end);
      else next = this.readOpenTag(position, end);
      if (next < 0) break;
      this.xmlDeclarationPossible = false;
      position = next;
    }
    this.position = position;
  }

  /** Character data from `start` to the next `<`; returns where it ends, or -1 when the chunk ends first. */
  private readText(start: number, end: number): number {
    const buffer = this.buffer;
    let stop = buffer.indexOf('<', start);
    if (stop < 0 || stop > end) {
      // Outside the root only white space may appear: say so now rather than after a huge carry.
      if (this.openNames.length === 0 && !isAllSpace(buffer, start, end)) this.fail('text data outside of root node.');
      return -1;
    }
    if (this.openNames.length === 0) {
      if (!isAllSpace(buffer, start, stop)) this.fail('text data outside of root node.');
      return stop;
    }
    if (this.nextAmpersand < start) this.nextAmpersand = indexOrNotFound(buffer, '&', start);
    if (this.nextCarriageReturn < start) this.nextCarriageReturn = indexOrNotFound(buffer, '\r', start);
    if (this.nextCdataEnd < start) this.nextCdataEnd = indexOrNotFound(buffer, ']]>', start);
    if (this.nextAmpersand >= stop && this.nextCarriageReturn >= stop && this.nextCdataEnd + 2 >= stop) {
      this.handler.text(buffer, start, stop);
      return stop;
    }
    // Slow path: entities, carriage returns or a forbidden `]]>`. An entity runs to its `;` even across a `<`
    // (a broken document), as in saxes, so the text ends at the first `<` outside an entity.
    let text = '';
    let segmentStart = start;
    let cdataEnd = this.nextCdataEnd;
    for (;;) {
      // Every search starts where the last one ended or later, so a text with many entities stays linear.
      if (stop < segmentStart) {
        stop = buffer.indexOf('<', segmentStart);
        if (stop < 0 || stop > end) return -1;
      }
      if (cdataEnd < segmentStart) cdataEnd = indexOrNotFound(buffer, ']]>', segmentStart);
      let ampersand = this.nextAmpersand;
      if (ampersand < segmentStart) ampersand = this.nextAmpersand = indexOrNotFound(buffer, '&', segmentStart);
      const segmentEnd = ampersand < stop ? ampersand : stop;
      if (cdataEnd + 2 < segmentEnd) this.fail('the string "]]>" is disallowed in char data.');
      text += normalizeLineEnds(buffer.slice(segmentStart, segmentEnd));
      if (segmentEnd === stop) break;
      const semicolon = buffer.indexOf(';', ampersand + 1);
      if (semicolon < 0 || semicolon >= end) return -1;
      text += this.entityValue(buffer.slice(ampersand + 1, semicolon));
      segmentStart = semicolon + 1;
    }
    this.handler.text(text, 0, text.length);
    return stop;
  }

  /** The replacement text of `&entity;`, refusing what XML 1.0 without a DTD does not define. */
  private entityValue(entity: string): string {
    if (entity.length === 0) this.fail('empty entity name.');
    if (entity.charCodeAt(0) !== 0x23) {
      const value = PREDEFINED_ENTITIES[entity];
      if (value !== undefined && Object.prototype.hasOwnProperty.call(PREDEFINED_ENTITIES, entity)) return value;
      this.fail(isXmlName(entity) ? 'undefined entity.' : 'disallowed character in entity name.');
    }
    let code = Number.NaN;
    if (/^#x[0-9a-f]+$/i.test(entity) && entity.charCodeAt(1) === 0x78) code = Number.parseInt(entity.slice(2), 16);
    else if (/^#[0-9]+$/.test(entity)) code = Number.parseInt(entity.slice(1), 10);
    if (!isXmlChar(code)) this.fail('malformed character entity.');
    return String.fromCodePoint(code);
  }

  /** An interned name for buffer[start, end); `colon` is the first colon's index or -1. */
  private nameAt(start: number, end: number, colon: number, hash: number): XmlName {
    const buffer = this.buffer;
    const slot = hash & (NAME_CACHE_SIZE - 1);
    const cached = this.nameCache[slot];
    if (cached !== undefined && cached.qualified.length === end - start && sameCharacters(buffer, start, cached.qualified)) return cached;
    const qualified = buffer.slice(start, end);
    const local = colon < 0 ? qualified : qualified.slice(colon - start + 1);
    const name: XmlName = { qualified, local: this.knownNames?.get(local) ?? local };
    this.nameCache[slot] = name;
    return name;
  }

  /**
   * The name expected in the next start tag: the one that followed the last start tag (or end tag) of the same
   * name. Kept as name-cache slots, not name objects, so that evicted names are not held by predictions.
   */
  private predictedSlot(): number {
    const lastSlot = this.lastEventSlot;
    if (lastSlot < 0) return -1;
    return (this.lastEventOpened ? this.slotAfterOpen : this.slotAfterClose)[lastSlot]! - 1;
  }

  /** Records that a start tag of the name in `slot` followed the last event, and makes it the last event. */
  private learn(slot: number, opened: boolean): void {
    const lastSlot = this.lastEventSlot;
    if (lastSlot >= 0) (this.lastEventOpened ? this.slotAfterOpen : this.slotAfterClose)[lastSlot] = slot + 1;
    this.lastEventSlot = slot;
    this.lastEventOpened = opened;
  }

  /**
   * Scans a name starting at `start` (its first character already known to be a name start). Returns the index
   * after it, or -1 when the chunk ends inside it; sets `lastColon` to the first colon's index or -1, and
   * `lastHash` to a hash of the name (for the name cache).
   */
  private scanName(start: number, end: number): number {
    const buffer = this.buffer;
    let index = start;
    let colon = -1;
    let hash = 0;
    while (index < end) {
      const code = buffer.charCodeAt(index);
      if (code < 128) {
        if (ASCII_NAME[code] !== 1) break;
        if (code === COLON && colon < 0) colon = index;
        hash = (hash * 31 + code) | 0;
        index += 1;
        continue;
      }
      const width = this.nameCodeWidth(index, end, index === start);
      if (width <= 0) {
        if (width < 0) return -1;
        break;
      }
      hash = (hash * 31 + code) | 0;
      index += width;
    }
    this.lastColon = colon;
    this.lastHash = hash;
    return index >= end ? -1 : index;
  }

  private lastColon = -1;
  private lastHash = 0;
  /** Where in `buffer` a start tag cut by the previous chunk's end begins (-1: none), and how far `>` was sought. */
  private cutTagStart = -1;
  private cutTagScanned = 0;

  /** Width (1 or 2) of the name character at `index`, 0 when it is none, -1 when a surrogate pair is cut. */
  private nameCodeWidth(index: number, end: number, first: boolean): number {
    const buffer = this.buffer;
    const code = buffer.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (index + 1 >= end) return -1;
      const full = buffer.codePointAt(index)!;
      return (first ? isNonAsciiNameStart(full) : isNonAsciiNameChar(full)) ? 2 : 0;
    }
    return (first ? isNonAsciiNameStart(code) : isNonAsciiNameChar(code)) ? 1 : 0;
  }

  private isNameStartAt(index: number, end: number): number {
    const code = this.buffer.charCodeAt(index);
    if (code < 128) return ASCII_NAME_START[code] === 1 ? 1 : 0;
    return this.nameCodeWidth(index, end, true);
  }

  private readOpenTag(start: number, end: number): number {
    const buffer = this.buffer;
    // A start tag cut by the chunk's end is read again with the next chunk; until a `>` has arrived it cannot be
    // complete, which spares re-reading a huge hostile tag once per chunk.
    if (this.cutTagStart === start) {
      const gt = buffer.indexOf('>', this.cutTagScanned);
      if (gt < 0 || gt >= end) {
        this.cutTagScanned = end;
        return -1;
      }
    }
    const next = this.readWholeOpenTag(start, end);
    if (next < 0) {
      this.cutTagStart = start;
      this.cutTagScanned = start;
    } else {
      this.cutTagStart = -1;
    }
    return next;
  }

  private readWholeOpenTag(start: number, end: number): number {
    const buffer = this.buffer;
    // The name predicted from the previous tag (see `predictedSlot`) is checked first: a camt entry repeats the same
    // sequence of elements, so most names are recognised by one comparison instead of a scan, a hash and a lookup.
    // The predicted name sits in the name cache at its own slot, so it is the very object the scan would find.
    let slot = this.predictedSlot();
    let name = slot < 0 ? undefined : this.nameCache[slot];
    let nameEnd = -1;
    if (name !== undefined) {
      nameEnd = start + 1 + name.qualified.length;
      const after = nameEnd < end ? buffer.charCodeAt(nameEnd) : 0;
      if (!((after === GT || after === SLASH || isSpace(after)) && sameCharacters(buffer, start + 1, name.qualified))) name = undefined;
    }
    if (name === undefined) {
      const startWidth = this.isNameStartAt(start + 1, end);
      if (startWidth < 0) return -1;
      if (startWidth === 0) this.fail('disallowed character in tag name');
      nameEnd = this.scanName(start + 1, end);
      if (nameEnd < 0) return -1;
      slot = this.lastHash & (NAME_CACHE_SIZE - 1);
    }
    const colon = this.lastColon;
    const hash = this.lastHash;
    const attributes = this.attributes;
    attributes.clear();
    let index = nameEnd;
    let code = buffer.charCodeAt(index);
    if (code !== GT && code !== SLASH) {
      if (!isSpace(code)) this.fail('disallowed character in tag name.');
      // Attributes: (S Name S? = S? "value")* S?
      for (;;) {
        while (index < end && isSpace(buffer.charCodeAt(index))) index += 1;
        if (index >= end) return -1;
        code = buffer.charCodeAt(index);
        if (code === GT || code === SLASH) break;
        const next = this.readAttribute(index, end);
        if (next < 0) return -1;
        index = next;
        if (index >= end) return -1;
        code = buffer.charCodeAt(index);
        if (code === GT || code === SLASH) break;
        if (!isSpace(code)) {
          this.fail(this.isNameStartAt(index, end) > 0 ? 'no whitespace between attributes.' : 'disallowed character in attribute name.');
        }
      }
    }
    let selfClosing = false;
    if (code === SLASH) {
      if (index + 1 >= end) return -1;
      if (buffer.charCodeAt(index + 1) !== GT) this.fail('forward-slash in opening tag not followed by >.');
      selfClosing = true;
      index += 1;
    }
    if (this.closedRoot) this.fail('documents may contain only one root.');
    this.sawRoot = true;
    name ??= this.nameAt(start + 1, nameEnd, colon, hash);
    this.learn(slot, true);
    this.openNames.push(name);
    this.openSlots.push(slot);
    this.handler.openTag(name, attributes);
    if (selfClosing) {
      this.openNames.pop();
      this.openSlots.pop();
      if (this.openNames.length === 0) this.closedRoot = true;
      this.lastEventOpened = false;
      this.handler.closeTag(name);
    }
    return index + 1;
  }

  /** One `name = "value"` from `start`; returns the index after the closing quote, or -1 when cut. */
  private readAttribute(start: number, end: number): number {
    const buffer = this.buffer;
    const startWidth = this.isNameStartAt(start, end);
    if (startWidth < 0) return -1;
    if (startWidth === 0) this.fail('disallowed character in attribute name.');
    const nameEnd = this.scanName(start, end);
    if (nameEnd < 0) return -1;
    let index = nameEnd;
    let code = buffer.charCodeAt(index);
    if (code !== EQUAL) {
      if (code === GT) this.fail('attribute without value.');
      if (!isSpace(code)) this.fail('disallowed character in attribute name.');
      while (index < end && isSpace(buffer.charCodeAt(index))) index += 1;
      if (index >= end) return -1;
      if (buffer.charCodeAt(index) !== EQUAL) this.fail('attribute without value.');
    }
    index += 1;
    while (index < end && isSpace(buffer.charCodeAt(index))) index += 1;
    if (index >= end) return -1;
    code = buffer.charCodeAt(index);
    if (code !== DQUOTE && code !== SQUOTE) this.fail('unquoted attribute value.');
    const valueStart = index + 1;
    const valueEnd = buffer.indexOf(code === DQUOTE ? '"' : "'", valueStart);
    if (valueEnd < 0 || valueEnd >= end) {
      const lessThan = buffer.indexOf('<', valueStart);
      if (lessThan >= 0 && lessThan < end) this.fail('disallowed character.');
      return -1;
    }
    const name = buffer.slice(start, nameEnd);
    const value = this.attributeValue(valueStart, valueEnd);
    if (!this.attributes.add(name, value)) this.fail(`duplicate attribute: ${name}.`);
    return valueEnd + 1;
  }

  /** An attribute value: `<` refused, entities decoded, tab/line ends normalised to spaces (CRLF to one). */
  private attributeValue(start: number, end: number): string {
    const buffer = this.buffer;
    let plain = true;
    for (let index = start; index < end; index += 1) {
      const code = buffer.charCodeAt(index);
      if (code === LT) this.fail('disallowed character.');
      if (code === AMP || code === CR || code === 0x0a || code === 0x09) plain = false;
    }
    if (plain) return buffer.slice(start, end);
    let out = '';
    let index = start;
    while (index < end) {
      const code = buffer.charCodeAt(index);
      if (code === AMP) {
        const semicolon = buffer.indexOf(';', index + 1);
        if (semicolon < 0 || semicolon >= end) this.fail('disallowed character in entity name.');
        out += this.entityValue(buffer.slice(index + 1, semicolon));
        index = semicolon + 1;
        continue;
      }
      if (code === CR) {
        out += ' ';
        index += buffer.charCodeAt(index + 1) === 0x0a && index + 1 < end ? 2 : 1;
        continue;
      }
      out += code === 0x0a || code === 0x09 ? ' ' : buffer[index]!;
      index += 1;
    }
    return out;
  }

  private readCloseTag(start: number, end: number): number {
    const buffer = this.buffer;
    const openNames = this.openNames;
    const top = openNames[openNames.length - 1];
    if (top !== undefined && end - start - 2 > top.qualified.length && sameCharacters(buffer, start + 2, top.qualified)) {
      let index = start + 2 + top.qualified.length;
      while (index < end && isSpace(buffer.charCodeAt(index))) index += 1;
      if (index >= end) return -1;
      if (buffer.charCodeAt(index) === GT) {
        openNames.pop();
        if (openNames.length === 0) this.closedRoot = true;
        this.lastEventSlot = this.openSlots.pop()!;
        this.lastEventOpened = false;
        this.handler.closeTag(top);
        return index + 1;
      }
      if (index === start + 2 + top.qualified.length && isXmlNameCode(buffer.charCodeAt(index))) {
        // A longer name that starts like the open one: a mismatch, reported below.
      } else {
        this.fail('disallowed character in closing tag.');
      }
    }
    // Not the open element's name: read what is there to say what is wrong, as saxes would.
    let index = start + 2;
    while (index < end) {
      const code = buffer.charCodeAt(index);
      const width = code < 128 ? ASCII_NAME[code]! : this.nameCodeWidth(index, end, false);
      if (width < 0) return -1;
      if (width === 0) break;
      index += width;
    }
    const nameEnd = index;
    while (index < end && isSpace(buffer.charCodeAt(index))) index += 1;
    if (index >= end) return -1;
    if (buffer.charCodeAt(index) !== GT) this.fail('disallowed character in closing tag.');
    const name = buffer.slice(start + 2, nameEnd);
    if (name.length === 0) this.fail('weird empty close tag.');
    this.fail(openNames.length === 0 ? `unmatched closing tag: ${name}.` : 'unexpected close tag.');
  }

  /** `<!--`, `<![CDATA[` or `<!DOCTYPE`. */
  private readBang(start: number, end: number): number {
    const buffer = this.buffer;
    if (buffer.startsWith('<!--', start)) {
      const dashes = buffer.indexOf('--', start + 4);
      if (dashes < 0 || dashes + 2 >= end) return -1;
      if (buffer.charCodeAt(dashes + 2) !== GT) this.fail('malformed comment.');
      return dashes + 3;
    }
    if (buffer.startsWith('<![CDATA[', start)) {
      if (this.openNames.length === 0) this.fail('text data outside of root node.');
      const close = buffer.indexOf(']]>', start + 9);
      if (close < 0 || close + 2 >= end) return -1;
      const text = normalizeLineEnds(buffer.slice(start + 9, close));
      this.handler.text(text, 0, text.length);
      return close + 3;
    }
    if (buffer.startsWith('<!DOCTYPE', start)) {
      if (this.sawRoot) this.fail('inappropriately located doctype declaration.');
      throw new UnreadableStatementError(DOCTYPE_REFUSED_MESSAGE);
    }
    // Possibly the start of one of the above, cut by the chunk's end.
    const available = buffer.slice(start, Math.min(end, start + 9));
    if (available.length < 9 && ['<!--', '<![CDATA[', '<!DOCTYPE'].some((opening) => opening.startsWith(available))) return -1;
    this.fail('incorrect syntax.');
  }

  /** `<?target body?>`, and the XML declaration at the very start of the document. */
  private readProcessingInstruction(start: number, end: number): number {
    const buffer = this.buffer;
    if (start + 2 >= end) return -1;
    const startWidth = this.isNameStartAt(start + 2, end);
    if (startWidth < 0) return -1;
    if (startWidth === 0) {
      const code = buffer.charCodeAt(start + 2);
      this.fail(code === QUESTION || isSpace(code) ? 'processing instruction without a target.' : 'disallowed character in processing instruction name.');
    }
    const targetEnd = this.scanName(start + 2, end);
    if (targetEnd < 0) return -1;
    const code = buffer.charCodeAt(targetEnd);
    if (code !== QUESTION && !isSpace(code)) this.fail('disallowed character in processing instruction name.');
    const close = buffer.indexOf('?>', targetEnd);
    if (close < 0 || close + 1 >= end) return -1;
    const target = buffer.slice(start + 2, targetEnd);
    if (target === 'xml') {
      if (!this.xmlDeclarationPossible) this.fail('an XML declaration must be at the start of the document.');
      const match = XML_DECLARATION.exec(buffer.slice(start, close + 2));
      if (match === null) this.fail('the XML declaration is malformed (expected version, then optional encoding and standalone).');
      const version = match[1] ?? match[2]!;
      if (version !== '1.0') throw new XmlVersionNotHandled(version, buffer);
    } else if (target.toLowerCase() === 'xml') {
      this.fail('the XML declaration must appear at the start of the document.');
    }
    return close + 2;
  }
}

/** Whether `text` appears in `buffer` at `start` (the caller checked that it fits). */
function sameCharacters(buffer: string, start: number, text: string): boolean {
  for (let index = 0; index < text.length; index += 1) if (buffer.charCodeAt(start + index) !== text.charCodeAt(index)) return false;
  return true;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function indexOrNotFound(text: string, search: string, from: number): number {
  const index = text.indexOf(search, from);
  return index < 0 ? NOT_FOUND : index;
}

function isAllSpace(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index += 1) if (!isSpace(text.charCodeAt(index))) return false;
  return true;
}
