/**
 * Reads the `:86:` "information to account owner" of one statement line into canonical entry fields.
 * Three layouts are understood:
 * - German DK/ZKA structure: a 3-digit GVC, a separator (normally `?`), then `?NN` sub-fields; SEPA keywords
 *   (`EREF+`, `SVWZ+`, …) inside the purpose sub-fields ?20–?29 and ?60–?63.
 * - Dutch structure: `/KEY/value/KEY/value…` with a closed set of keys (ABN AMRO, ING, Rabobank, Knab, SNS, …).
 * - Anything else is free text and becomes the remittance.
 */

/** Remittance and names are cut here: the canonical record is a matching aid, not an archive of the raw text. */
export const DETAILS_FIELD_LENGTH_MAX = 4_096;

export interface Mt940Details {
  gvc?: string;
  endToEndId?: string;
  counterpartyName?: string;
  counterpartyAccount?: string;
  remittance?: string;
}

/** The `:86:` lines as they came, one string per physical line (the tag itself removed from the first). */
export function parseMt940Details(lines: readonly string[]): Mt940Details {
  const joined = lines.length === 1 ? (lines[0] ?? '') : lines.join('');
  if (isGvcStructured(joined)) return parseGvc(joined);
  if (joined.charCodeAt(0) === 47 /* / */) {
    const dutch = parseDutch(joined);
    if (dutch !== undefined) return dutch;
  }
  let text = '';
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.length > 0) text = text.length === 0 ? trimmed : `${text} ${trimmed}`;
  }
  return text.length === 0 ? {} : { remittance: clip(text) };
}

function clip(text: string): string {
  return text.length <= DETAILS_FIELD_LENGTH_MAX ? text : text.slice(0, DETAILS_FIELD_LENGTH_MAX);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isGvcStructured(text: string): boolean {
  if (text.length < 7) return false;
  if (!isDigit(text.charCodeAt(0)) || !isDigit(text.charCodeAt(1)) || !isDigit(text.charCodeAt(2))) return false;
  const separator = text.charAt(3);
  // The separator is a punctuation character (banks use `?`, a few use `>` or `@`), followed by two digits.
  if (/[0-9A-Za-z\s]/.test(separator)) return false;
  return isDigit(text.charCodeAt(4)) && isDigit(text.charCodeAt(5));
}

const NO_KEYWORDS: ReadonlyMap<string, string> = new Map();

function parseGvc(text: string): Mt940Details {
  const separator = text.charAt(3);
  // Only the sub-fields the canonical record uses are collected, straight into strings (runs once per entry).
  let purpose = '';
  let purposeContinued = '';
  let name = '';
  let account = '';
  let position = 3;
  while (position < text.length) {
    // Find the next `?NN` marker; a separator not followed by two digits is literal text.
    let next = text.indexOf(separator, position + 1);
    while (next !== -1 && !(isDigit(text.charCodeAt(next + 1)) && isDigit(text.charCodeAt(next + 2)))) {
      next = text.indexOf(separator, next + 1);
    }
    const code = (text.charCodeAt(position + 1) - 48) * 10 + (text.charCodeAt(position + 2) - 48);
    const end = next === -1 ? text.length : next;
    if (code >= 20 && code <= 29) purpose += text.slice(position + 3, end);
    else if (code >= 60 && code <= 63) purposeContinued += text.slice(position + 3, end);
    else if (code === 32 || code === 33) name += text.slice(position + 3, end);
    else if (code === 31) account += text.slice(position + 3, end);
    if (next === -1) break;
    position = next;
  }
  const details: Mt940Details = { gvc: text.slice(0, 3) };
  name = name.trim();
  if (name.length > 0) details.counterpartyName = clip(name);
  account = account.trim();
  if (account.length > 0) details.counterpartyAccount = account;
  const keywords = splitSepaKeywords(purpose);
  // ?60–?63 extend the purpose, but an id keyword (EREF, max 35 characters) never runs on into them: only a
  // remittance (SVWZ) continues there; other text before the next keyword is kept as remittance.
  const continued = purposeContinued.length === 0 ? NO_KEYWORDS : splitSepaKeywords(purposeContinued);
  const leading = continued.get('') ?? '';
  if (leading.length > 0) {
    if (keywords.has('SVWZ') && lastKeywordOf(purpose) === 'SVWZ') keywords.set('SVWZ', `${keywords.get('SVWZ') ?? ''}${leading}`);
    else keywords.set('', `${keywords.get('') ?? ''}${keywords.has('') ? ' ' : ''}${leading}`.trim());
  }
  for (const [keyword, value] of continued) if (keyword !== '' && !keywords.has(keyword)) keywords.set(keyword, value);
  const endToEndId = keywords.get('EREF');
  if (endToEndId !== undefined && endToEndId.length > 0 && endToEndId !== 'NOTPROVIDED') details.endToEndId = endToEndId;
  const remittance = keywords.get('SVWZ') ?? keywords.get('') ?? '';
  if (remittance.length > 0) details.remittance = clip(remittance);
  return details;
}

const SEPA_KEYWORDS: ReadonlySet<string> = new Set(['EREF', 'KREF', 'MREF', 'CRED', 'DEBT', 'SVWZ', 'ABWA', 'ABWE', 'COAM', 'OAMT', 'IBAN', 'BREF', 'RREF']);

/** Keyword starts (`EREF+` → index of E) found by scanning for `+`, the only anchor (no regex over long text). */
function keywordPositions(purpose: string): { keyword: string; start: number }[] {
  const found: { keyword: string; start: number }[] = [];
  for (let plus = purpose.indexOf('+'); plus !== -1; plus = purpose.indexOf('+', plus + 1)) {
    if (plus >= 4 && SEPA_KEYWORDS.has(purpose.slice(plus - 4, plus))) found.push({ keyword: purpose.slice(plus - 4, plus), start: plus - 4 });
    else if (plus >= 3 && purpose.slice(plus - 3, plus) === 'BIC') found.push({ keyword: 'BIC', start: plus - 3 });
  }
  return found;
}

function lastKeywordOf(purpose: string): string | undefined {
  const positions = keywordPositions(purpose);
  return positions[positions.length - 1]?.keyword;
}

/** Splits "EREF+abc SVWZ+text" into keyword → value (first occurrence wins); text before the first keyword is under ''. */
function splitSepaKeywords(purpose: string): Map<string, string> {
  const values = new Map<string, string>();
  const positions = keywordPositions(purpose);
  const head = purpose.slice(0, positions[0]?.start ?? purpose.length).trim();
  if (head.length > 0) values.set('', head);
  positions.forEach((position, index) => {
    const end = positions[index + 1]?.start ?? purpose.length;
    if (!values.has(position.keyword)) values.set(position.keyword, purpose.slice(position.start + position.keyword.length + 1, end).trim());
  });
  return values;
}

/** Keys of the Dutch `:86:` structure. Only these split the text, because `/` also occurs inside values. */
const DUTCH_KEYS: ReadonlySet<string> = new Set([
  'TRTP',
  'IBAN',
  'BIC',
  'NAME',
  'REMI',
  'EREF',
  'CSID',
  'MARF',
  'CNTP',
  'ORDP',
  'BENM',
  'ADDR',
  'PREF',
  'RTRN',
  'ISDT',
  'CDTRREF',
  'CDTRREFTP',
  'USTD',
  'STRD',
  'ULTC',
  'ULTD',
  'ULTB',
  'PURP',
  'SVCL',
  'OCMT',
  'OGB',
  'BUSP',
  'ACCW',
  'RTYP',
  'CHGS',
  'EXCH',
  'FX',
]);

function parseDutch(text: string): Mt940Details | undefined {
  const tokens = text.split('/');
  // tokens[0] is '' (text starts with '/'); the first real token must be a known key.
  if (tokens.length < 3 || !DUTCH_KEYS.has(tokens[1] ?? '')) return undefined;
  const values = new Map<string, string[]>();
  let current: string[] | undefined;
  for (let index = 1; index < tokens.length; index += 1) {
    const token = tokens[index] ?? '';
    if (DUTCH_KEYS.has(token)) {
      current = [];
      if (!values.has(token)) values.set(token, current);
    } else if (current !== undefined) {
      current.push(token);
    }
  }
  const valueOf = (key: string): string | undefined => {
    const parts = values.get(key);
    if (parts === undefined) return undefined;
    const value = trimSlashes(parts.join('/'));
    return value.length === 0 ? undefined : value;
  };
  const details: Mt940Details = {};
  const counterparty = values.get('CNTP');
  const name = valueOf('NAME') ?? counterparty?.[2]?.trim();
  if (name !== undefined && name.length > 0) details.counterpartyName = clip(name);
  const account = valueOf('IBAN') ?? counterparty?.[0]?.trim();
  if (account !== undefined && account.length > 0) details.counterpartyAccount = account;
  const endToEndId = valueOf('EREF');
  if (endToEndId !== undefined && endToEndId !== 'NOTPROVIDED') details.endToEndId = endToEndId;
  const remittance = valueOf('REMI') ?? valueOf('USTD') ?? valueOf('STRD');
  if (remittance !== undefined) details.remittance = clip(remittance);
  return details;
}

function trimSlashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charAt(start) === '/' || text.charAt(start) === ' ')) start += 1;
  while (end > start && (text.charAt(end - 1) === '/' || text.charAt(end - 1) === ' ')) end -= 1;
  return text.slice(start, end);
}
