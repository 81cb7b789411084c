import { DiscardPolicy, type JetStreamManager, JetStreamApiError, RetentionPolicy, type StreamConfig, StorageType } from '@nats-io/jetstream';
import { isLogicalSubject } from '@recon/contracts';

export type StreamKey = 'LEDGER' | 'BANK' | 'RECON' | 'AUDIT';

export interface StreamDefinition {
  readonly key: StreamKey;
  /** First token of every logical subject in the stream: `ledger` holds `ledger.>`. */
  readonly subjectPrefix: string;
  /** Limits: kept for maxAgeMs whoever reads it. WorkQueue: kept until a consumer acknowledges it. */
  readonly retention: 'limits' | 'workqueue';
  /** 0 = kept until consumed (work queues) or forever. */
  readonly maxAgeMs: number;
  /** Window in which JetStream drops a second message with the same Nats-Msg-Id. */
  readonly duplicateWindowMs: number;
  readonly messageBytesMax: number;
  readonly description: string;
}

export const STREAM_DUPLICATE_WINDOW_MS = 2 * 60 * 1_000;
export const STREAM_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1_000;
export const STREAM_MESSAGE_BYTES_MAX = 1024 * 1024;
/** One server locally and in CI; a clustered deployment raises this to 3 (an update ensureStreams applies). */
export const STREAM_REPLICAS = 1;
export const NAMESPACE_LENGTH_MAX = 32;

export const STREAMS: readonly StreamDefinition[] = Object.freeze([
  {
    key: 'LEDGER',
    subjectPrefix: 'ledger',
    retention: 'limits',
    maxAgeMs: STREAM_MAX_AGE_MS,
    duplicateWindowMs: STREAM_DUPLICATE_WINDOW_MS,
    messageBytesMax: STREAM_MESSAGE_BYTES_MAX,
    description: 'Ledger events: accounts opened, transactions posted.',
  },
  {
    key: 'BANK',
    subjectPrefix: 'bank',
    retention: 'limits',
    maxAgeMs: STREAM_MAX_AGE_MS,
    duplicateWindowMs: STREAM_DUPLICATE_WINDOW_MS,
    messageBytesMax: STREAM_MESSAGE_BYTES_MAX,
    description: 'Bank events: statements and statement lines received.',
  },
  {
    key: 'RECON',
    subjectPrefix: 'recon',
    retention: 'limits',
    maxAgeMs: STREAM_MAX_AGE_MS,
    duplicateWindowMs: STREAM_DUPLICATE_WINDOW_MS,
    messageBytesMax: STREAM_MESSAGE_BYTES_MAX,
    description: 'Reconciliation events: breaks opened, alerts raised.',
  },
  {
    key: 'AUDIT',
    subjectPrefix: 'audit',
    retention: 'workqueue',
    maxAgeMs: 0,
    duplicateWindowMs: STREAM_DUPLICATE_WINDOW_MS,
    messageBytesMax: STREAM_MESSAGE_BYTES_MAX,
    description: 'Audit events, kept until the audit service has appended them to its log.',
  },
]);

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]*$/;

export class StreamConfigConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamConfigConflictError';
  }
}

function assertNamespace(namespace: string): void {
  if (namespace.length > NAMESPACE_LENGTH_MAX || !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`NATS namespace '${namespace}' must be at most ${NAMESPACE_LENGTH_MAX} of [A-Za-z0-9_-] (empty for none)`);
  }
}

/** `ns_LEDGER`, or `LEDGER` without a namespace. */
export function streamNameFor(namespace: string, key: StreamKey): string {
  assertNamespace(namespace);
  return namespace === '' ? key : `${namespace}_${key}`;
}

/** The NATS subject of a logical one: `ns.ledger.transaction.posted`, or unchanged without a namespace. */
export function subjectFor(namespace: string, logicalSubject: string): string {
  assertNamespace(namespace);
  if (!isLogicalSubject(logicalSubject) && !/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*\.>$/.test(logicalSubject)) {
    throw new Error(`'${logicalSubject}' is not a logical subject (dotted lower-case words, e.g. ledger.transaction.posted)`);
  }
  return namespace === '' ? logicalSubject : `${namespace}.${logicalSubject}`;
}

/** The logical subject of a NATS subject, or undefined when it is outside the namespace. */
export function logicalSubjectOf(namespace: string, natsSubject: string): string | undefined {
  assertNamespace(namespace);
  if (namespace === '') return natsSubject;
  const prefix = `${namespace}.`;
  return natsSubject.startsWith(prefix) ? natsSubject.slice(prefix.length) : undefined;
}

/** The stream a logical subject is published to, by its first token. */
export function streamDefinitionForSubject(logicalSubject: string, streams: readonly StreamDefinition[] = STREAMS): StreamDefinition | undefined {
  const firstToken = logicalSubject.split('.')[0];
  return streams.find((stream) => stream.subjectPrefix === firstToken);
}

export function streamDefinitionOf(key: StreamKey, streams: readonly StreamDefinition[] = STREAMS): StreamDefinition {
  const found = streams.find((stream) => stream.key === key);
  if (found === undefined) throw new Error(`no stream '${key}' is declared`);
  return found;
}

const NANOS_PER_MS = 1_000_000;

export function streamConfigFor(namespace: string, definition: StreamDefinition): StreamConfig {
  return {
    name: streamNameFor(namespace, definition.key),
    description: definition.description,
    subjects: [subjectFor(namespace, `${definition.subjectPrefix}.>`)],
    retention: definition.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: STREAM_REPLICAS,
    max_age: definition.maxAgeMs * NANOS_PER_MS,
    duplicate_window: definition.duplicateWindowMs * NANOS_PER_MS,
    max_msg_size: definition.messageBytesMax,
    // A full work queue refuses new messages rather than dropping unconsumed ones: the relay then keeps them
    // in the outbox and retries. Limits streams age out their oldest messages as designed.
    discard: definition.retention === 'workqueue' ? DiscardPolicy.New : DiscardPolicy.Old,
  } as StreamConfig;
}

export type StreamProvisioning = 'created' | 'updated' | 'unchanged';

export interface EnsureStreamResult {
  readonly name: string;
  readonly outcome: StreamProvisioning;
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10059;
}

/** The fields we own, compared; anything else an operator set by hand is left alone. */
function differingFields(current: StreamConfig, wanted: StreamConfig): string[] {
  const differing: string[] = [];
  const sameSubjects = [...current.subjects].sort().join(' ') === [...wanted.subjects].sort().join(' ');
  if (!sameSubjects) differing.push('subjects');
  for (const field of ['description', 'max_age', 'duplicate_window', 'max_msg_size', 'discard', 'num_replicas'] as const) {
    if (current[field] !== wanted[field]) differing.push(field);
  }
  return differing;
}

/**
 * Creates the declared streams, or brings existing ones to their declared configuration. Idempotent and safe
 * to run from every instance at start-up. Never deletes a stream: a retention or storage change cannot be made
 * in place and raises StreamConfigConflictError for an operator to migrate deliberately.
 */
export async function ensureStreams(jsm: JetStreamManager, namespace: string, streams: readonly StreamDefinition[] = STREAMS): Promise<EnsureStreamResult[]> {
  const results: EnsureStreamResult[] = [];
  for (const definition of streams) {
    const wanted = streamConfigFor(namespace, definition);
    let current: StreamConfig | undefined;
    try {
      current = (await jsm.streams.info(wanted.name)).config;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (current === undefined) {
      try {
        await jsm.streams.add(wanted);
        results.push({ name: wanted.name, outcome: 'created' });
        continue;
      } catch (error) {
        // Another instance created it first: fall through and compare with what it created.
        current = (await jsm.streams.info(wanted.name)).config;
        if (current === undefined) throw error;
      }
    }
    if (current.retention !== wanted.retention || current.storage !== wanted.storage) {
      throw new StreamConfigConflictError(
        `stream ${wanted.name} has retention ${current.retention}/storage ${current.storage}, declared ${wanted.retention}/${wanted.storage}: ` +
          'these cannot change in place; migrate the stream deliberately',
      );
    }
    const differing = differingFields(current, wanted);
    if (differing.length === 0) {
      results.push({ name: wanted.name, outcome: 'unchanged' });
      continue;
    }
    const { name: _name, retention: _retention, storage: _storage, ...updatable } = wanted;
    await jsm.streams.update(wanted.name, { ...current, ...updatable });
    results.push({ name: wanted.name, outcome: 'updated' });
  }
  return results;
}
