/**
 * A small element tree for ONE camt subtree at a time (one `Ntry`, one `Bal`, the `Acct`...), never the whole
 * document: the streaming parser builds it from XML tokenizer events and drops it once mapped. Names are local names
 * (namespace prefix removed); only attributes the mapping needs survive (`Ccy`).
 */
export interface XmlNode {
  readonly name: string;
  readonly ccy: string | undefined;
  text: string;
  /**
   * Children as a linked list (first child, then each child's next sibling) rather than an array: no array per
   * element, and a node can be reused for another element by resetting its fields (see `resetXmlNode`).
   */
  firstChild: XmlNode | undefined;
  lastChild: XmlNode | undefined;
  nextSibling: XmlNode | undefined;
}

export function newXmlNode(name: string, ccy: string | undefined): XmlNode {
  return { name, ccy, text: '', firstChild: undefined, lastChild: undefined, nextSibling: undefined };
}

/** Makes `node` a fresh leaf for another element (the parser reuses an entry's nodes for the next entry). */
export function resetXmlNode(node: XmlNode, name: string, ccy: string | undefined): XmlNode {
  const mutable = node as { -readonly [K in keyof XmlNode]: XmlNode[K] };
  mutable.name = name;
  mutable.ccy = ccy;
  mutable.text = '';
  mutable.firstChild = undefined;
  mutable.lastChild = undefined;
  mutable.nextSibling = undefined;
  return node;
}

export function appendChild(parent: XmlNode, child: XmlNode): void {
  const last = parent.lastChild;
  if (last === undefined) parent.firstChild = child;
  else last.nextSibling = child;
  parent.lastChild = child;
}

export function childOf(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined) return undefined;
  for (let child = node.firstChild; child !== undefined; child = child.nextSibling) if (child.name === name) return child;
  return undefined;
}

export function childrenOf(node: XmlNode | undefined, name: string): XmlNode[] {
  const found: XmlNode[] = [];
  if (node === undefined) return found;
  for (let child = node.firstChild; child !== undefined; child = child.nextSibling) if (child.name === name) found.push(child);
  return found;
}

/**
 * Follows a path of up to four child names; the first match at each step. Fixed parameters rather than a
 * rest array: this runs dozens of times per entry on the hot path.
 */
export function nodeAt(node: XmlNode | undefined, first?: string, second?: string, third?: string, fourth?: string): XmlNode | undefined {
  let current = node;
  if (first === undefined || current === undefined) return current;
  current = childOf(current, first);
  if (second === undefined || current === undefined) return current;
  current = childOf(current, second);
  if (third === undefined || current === undefined) return current;
  current = childOf(current, third);
  if (fourth === undefined || current === undefined) return current;
  return childOf(current, fourth);
}

/** Trimmed text of the node at the path, or undefined when the node is absent or its text is blank. */
export function textAt(node: XmlNode | undefined, first?: string, second?: string, third?: string, fourth?: string): string | undefined {
  const target = nodeAt(node, first, second, third, fourth);
  if (target === undefined) return undefined;
  const text = target.text;
  if (text.length === 0) return undefined;
  const trimmed = isTrimmed(text) ? text : text.trim();
  return trimmed.length === 0 ? undefined : trimmed;
}

/**
 * A copy of `text` that does not keep the decoded chunk it was cut from alive. V8 makes a substring of 13 or more
 * characters a view into its parent, here a 64 KiB piece of the file: a record field kept by the caller (the
 * matching engine keeps every bank line's remittance) would keep its whole piece, and so the whole file, in
 * memory. Shorter strings are copies already. `text` is trimmed, so trimming `text + ' '` gives it back, as a copy.
 */
export function detached(text: string): string;
export function detached(text: string | undefined): string | undefined;
export function detached(text: string | undefined): string | undefined {
  if (text === undefined || text.length < 13) return text;
  const copy = `${text} `.trim();
  return copy.length === text.length ? copy : text;
}

/** Conservative: anything that might be whitespace to String.prototype.trim (controls, space, non-ASCII) says yes. */
function isWhitespaceCode(code: number): boolean {
  return code <= 32 || code >= 0x80;
}

function isTrimmed(text: string): boolean {
  return !isWhitespaceCode(text.charCodeAt(0)) && !isWhitespaceCode(text.charCodeAt(text.length - 1));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (character) => (character === '<' ? '&lt;' : character === '>' ? '&gt;' : character === '&' ? '&amp;' : '&quot;'));
}

/**
 * Re-serialises a subtree as compact XML for a `rejected` record's `raw`, cut at `lengthMax` characters
 * (with a trailing ellipsis) so a hostile entry cannot blow up the output.
 */
export function serializeXmlNode(node: XmlNode, lengthMax: number): string {
  const parts: string[] = [];
  let length = 0;
  const visit = (current: XmlNode): boolean => {
    const open = current.ccy === undefined ? `<${current.name}>` : `<${current.name} Ccy="${escapeXml(current.ccy)}">`;
    parts.push(open);
    length += open.length;
    const text = current.text.trim();
    if (text.length > 0) {
      const escaped = escapeXml(text);
      parts.push(escaped);
      length += escaped.length;
    }
    if (length > lengthMax) return false;
    for (let child = current.firstChild; child !== undefined; child = child.nextSibling) if (!visit(child)) return false;
    const close = `</${current.name}>`;
    parts.push(close);
    length += close.length;
    return length <= lengthMax;
  };
  const complete = visit(node);
  const joined = parts.join('');
  return complete ? joined : `${joined.slice(0, lengthMax)}…`;
}
