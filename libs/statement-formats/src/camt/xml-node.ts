/**
 * A small element tree for ONE camt subtree at a time (one `Ntry`, one `Bal`, the `Acct`...), never the whole
 * document: the streaming parser builds it from SAX events and drops it once mapped. Names are local names
 * (namespace prefix removed); only attributes the mapping needs survive (`Ccy`).
 */
export interface XmlNode {
  readonly name: string;
  readonly ccy: string | undefined;
  readonly children: XmlNode[];
  text: string;
}

export function newXmlNode(name: string, ccy: string | undefined): XmlNode {
  return { name, ccy, children: [], text: '' };
}

export function childOf(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined) return undefined;
  for (const child of node.children) if (child.name === name) return child;
  return undefined;
}

export function childrenOf(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined) return [];
  return node.children.filter((child) => child.name === name);
}

/** Follows a path of child names; the first match at each step. */
export function nodeAt(node: XmlNode | undefined, ...path: readonly string[]): XmlNode | undefined {
  let current = node;
  for (const name of path) {
    current = childOf(current, name);
    if (current === undefined) return undefined;
  }
  return current;
}

/** Trimmed text of the node at `path`, or undefined when the node is absent or its text is blank. */
export function textAt(node: XmlNode | undefined, ...path: readonly string[]): string | undefined {
  const target = nodeAt(node, ...path);
  if (target === undefined) return undefined;
  const text = target.text.trim();
  return text.length === 0 ? undefined : text;
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
    for (const child of current.children) if (!visit(child)) return false;
    const close = `</${current.name}>`;
    parts.push(close);
    length += close.length;
    return length <= lengthMax;
  };
  const complete = visit(node);
  const joined = parts.join('');
  return complete ? joined : `${joined.slice(0, lengthMax)}…`;
}
