import { describe, expect, it } from '@jest/globals';
import { declaresBody, readDelivery } from '../../../../lib/core/webhooks/webhook-request.js';

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

describe('readDelivery', () => {
  const headers = { host: 'x' };

  it('takes the raw body from rawBody, else from body, and only bytes', () => {
    const buffer = Buffer.from('{}');
    expect(readDelivery({ headers, rawBody: buffer, body: { a: 1 } }).rawBody).toBe(buffer);
    expect(readDelivery({ headers, rawBody: '{}', body: buffer }).rawBody).toBe(buffer);
    expect(readDelivery({ headers, body: new Uint8Array(2) }).rawBody).toEqual(new Uint8Array(2));
    for (const value of [undefined, null, '{}', { a: 1 }, [123]]) {
      expect(readDelivery({ headers, rawBody: value, body: value }).rawBody).toBeUndefined();
    }
  });

  it("takes the header lines, Node's or those under Fastify's raw, if they are a list of strings", () => {
    const lines = ['Host', 'x', 'Authorization', 'Bearer y'];
    expect(readDelivery({ headers, rawHeaders: lines }).rawHeaders).toBe(lines);
    expect(readDelivery({ headers, raw: { rawHeaders: lines } }).rawHeaders).toBe(lines);
    expect(readDelivery({ headers, rawHeaders: [] }).rawHeaders).toEqual([]);
    for (const value of [undefined, null, 'Host', { 0: 'Host' }, ['Host', 1]]) {
      expect(readDelivery({ headers, rawHeaders: value }).rawHeaders).toBeUndefined();
    }
  });

  it('passes the headers on as they are', () => {
    expect(readDelivery({ headers }).headers).toBe(headers);
  });
});
