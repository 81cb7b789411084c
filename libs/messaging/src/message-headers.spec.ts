import { checkEventHeaders, EVENT_HEADERS_MAX } from './message-headers';

describe(checkEventHeaders.name, () => {
  it('accepts ordinary headers', () => {
    expect(() => checkEventHeaders('ledger.transaction.posted', { 'Idempotency-Key': 'abc', 'X-Request-Id': 'r-1' })).not.toThrow();
  });

  it.each([
    [{ 'Nats-Msg-Id': 'x' }, "header 'Nats-Msg-Id' is set by the messaging library"],
    [{ 'recon-schema-version': '2' }, "header 'recon-schema-version' is set by the messaging library"],
    [{ 'Bad Name': 'x' }, "header name 'Bad Name'"],
    [{ Note: 'line\r\nInjected: yes' }, "header 'Note' must be a single-line string"],
  ])('refuses %p', (headers, message) => {
    expect(() => checkEventHeaders('ledger.transaction.posted', headers)).toThrow(message);
  });

  it('bounds the number of headers', () => {
    const headers = Object.fromEntries(Array.from({ length: EVENT_HEADERS_MAX + 1 }, (_, index) => [`H${index}`, 'v']));
    expect(() => checkEventHeaders('ledger.transaction.posted', headers)).toThrow(`more than ${EVENT_HEADERS_MAX} headers`);
  });
});
