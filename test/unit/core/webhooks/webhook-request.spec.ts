import { describe, expect, it } from '@jest/globals';
import { asRawBody, asRawHeaders, declaresBody } from '../../../../lib/core/webhooks/webhook-request.js';

describe('declaresBody', () => {
  it.each<[Record<string, unknown>, boolean]>([
    [{}, false],
    [{ 'content-length': '0' }, false],
    [{ 'content-length': '00' }, false],
    [{ 'content-length': '12' }, true],
    [{ 'transfer-encoding': 'chunked' }, true],
    [{ 'transfer-encoding': 'chunked', 'content-length': '0' }, true],
  ])('%j -> %s', (headers, expected) => {
    expect(declaresBody(headers)).toBe(expected);
  });
});

describe('asRawBody', () => {
  it('takes bytes and nothing else', () => {
    const buffer = Buffer.from('{}');
    expect(asRawBody(buffer)).toBe(buffer);
    expect(asRawBody(new Uint8Array(2))).toEqual(new Uint8Array(2));
    for (const value of [undefined, null, '{}', { a: 1 }, [123]]) expect(asRawBody(value)).toBeUndefined();
  });
});

describe('asRawHeaders', () => {
  it('takes a list of strings and nothing else', () => {
    const lines = ['Host', 'x', 'Authorization', 'Bearer y'];
    expect(asRawHeaders(lines)).toBe(lines);
    expect(asRawHeaders([])).toEqual([]);
    for (const value of [undefined, null, 'Host', { 0: 'Host' }, ['Host', 1]])
      expect(asRawHeaders(value)).toBeUndefined();
  });
});
