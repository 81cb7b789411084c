import { UnreadableStatementError } from '../canonical';

export type CamtFormat = 'camt.052' | 'camt.053' | 'camt.054';

/**
 * Versions read. 001.02 (2009) to 001.13 (2023) are the published ones this parser is built and tested for;
 * 001.01 (camt.052/053 of 2008) shares their layout and is read on a best-effort basis.
 */
export const CAMT_VERSION_MIN = 1;
export const CAMT_VERSION_MAX = 13;

export interface CamtMessageType {
  readonly format: CamtFormat;
  readonly version: number;
  /** Child of `Document`: BkToCstmrAcctRpt / BkToCstmrStmt / BkToCstmrDbtCdtNtfctn. */
  readonly messageElement: string;
  /** One report / statement / notification: Rpt / Stmt / Ntfctn. */
  readonly recordElement: string;
}

const ELEMENTS: Readonly<Record<CamtFormat, { messageElement: string; recordElement: string }>> = {
  'camt.052': { messageElement: 'BkToCstmrAcctRpt', recordElement: 'Rpt' },
  'camt.053': { messageElement: 'BkToCstmrStmt', recordElement: 'Stmt' },
  'camt.054': { messageElement: 'BkToCstmrDbtCdtNtfctn', recordElement: 'Ntfctn' },
};

const CAMT_NAMESPACE_PATTERN = /urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d{2})/;

/**
 * Finds the camt message type in a namespace URI or in any text holding one (a file head). The namespace,
 * not `xsi:schemaLocation`, decides: real files declare one version in schemaLocation and use another.
 * Returns undefined when there is no camt.052/053/054 namespace; throws for a version out of range.
 */
export function camtMessageTypeOf(text: string): CamtMessageType | undefined {
  const match = CAMT_NAMESPACE_PATTERN.exec(text);
  if (match === null) return undefined;
  const format = `camt.${match[1]!}` as CamtFormat;
  const version = Number.parseInt(match[2]!, 10);
  if (version < CAMT_VERSION_MIN || version > CAMT_VERSION_MAX) {
    throw new UnreadableStatementError(
      `${format}.001.${match[2]!} is not a supported version (supported: 001.0${CAMT_VERSION_MIN} to 001.${CAMT_VERSION_MAX})`,
    );
  }
  return { format, version, ...ELEMENTS[format] };
}

const NAMESPACE_DECLARATION = /\bxmlns(?::[\w.-]+)?\s*=\s*["']([^"']{1,200})["']/g;

/** The camt message type declared by an `xmlns` attribute in a file head (never taken from schemaLocation). */
export function camtMessageTypeOfHead(head: string): CamtMessageType | undefined {
  for (const match of head.matchAll(NAMESPACE_DECLARATION)) {
    const type = camtMessageTypeOf(match[1]!);
    if (type !== undefined) return type;
  }
  return undefined;
}

/** The namespace of an element from its attributes (default namespace or the one bound to its prefix). */
export function camtMessageTypeOfAttributes(qualifiedName: string, attributes: Readonly<Record<string, string>>): CamtMessageType | undefined {
  const colon = qualifiedName.indexOf(':');
  const namespaceAttribute = colon < 0 ? 'xmlns' : `xmlns:${qualifiedName.slice(0, colon)}`;
  const uri = attributes[namespaceAttribute];
  return uri === undefined ? undefined : camtMessageTypeOf(uri);
}
