import { DiscardPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { logicalSubjectOf, STREAMS, streamConfigFor, streamDefinitionForSubject, streamDefinitionOf, streamNameFor, subjectFor } from './streams';

describe('stream and subject naming', () => {
  it('prefixes stream names and subjects with the namespace', () => {
    expect(streamNameFor('test1', 'LEDGER')).toBe('test1_LEDGER');
    expect(subjectFor('test1', 'ledger.transaction.posted')).toBe('test1.ledger.transaction.posted');
    expect(subjectFor('test1', 'ledger.>')).toBe('test1.ledger.>');
  });

  it('leaves names plain without a namespace', () => {
    expect(streamNameFor('', 'AUDIT')).toBe('AUDIT');
    expect(subjectFor('', 'audit.ledger.transaction.post')).toBe('audit.ledger.transaction.post');
    expect(logicalSubjectOf('', 'bank.line.received')).toBe('bank.line.received');
  });

  it('strips the namespace back off, and refuses subjects from another namespace', () => {
    expect(logicalSubjectOf('test1', 'test1.ledger.transaction.posted')).toBe('ledger.transaction.posted');
    expect(logicalSubjectOf('test1', 'test2.ledger.transaction.posted')).toBeUndefined();
    expect(logicalSubjectOf('test1', 'test1x.ledger.transaction.posted')).toBeUndefined();
  });

  it.each(['a.b', 'a b', 'a*', 'x'.repeat(33)])('refuses namespace %p', (namespace) => {
    expect(() => streamNameFor(namespace, 'LEDGER')).toThrow(`NATS namespace '${namespace}'`);
  });

  it.each(['ledger', 'ledger.*', 'Ledger.x', 'ledger..x', 'test.ledger.>x'])('refuses logical subject %p', (subject) => {
    expect(() => subjectFor('', subject)).toThrow('is not a logical subject');
  });

  it('routes a logical subject to the stream named by its first token', () => {
    expect(streamDefinitionForSubject('ledger.transaction.posted')?.key).toBe('LEDGER');
    expect(streamDefinitionForSubject('audit.ledger.transaction.post')?.key).toBe('AUDIT');
    expect(streamDefinitionForSubject('payments.sent')).toBeUndefined();
  });
});

describe(streamConfigFor.name, () => {
  it('keeps audit events until consumed and never discards them', () => {
    const sut = streamConfigFor('ns', streamDefinitionOf('AUDIT'));
    expect(sut.retention).toBe(RetentionPolicy.Workqueue);
    expect(sut.discard).toBe(DiscardPolicy.New);
    expect(sut.max_age).toBe(0);
    expect(sut.subjects).toEqual(['ns.audit.>']);
  });

  it('gives every stream a two-minute duplicate window in nanoseconds', () => {
    for (const definition of STREAMS) {
      expect(streamConfigFor('', definition).duplicate_window).toBe(120_000_000_000);
    }
    expect(streamConfigFor('', streamDefinitionOf('LEDGER')).max_age).toBe(30 * 24 * 3600 * 1e9);
  });
});
