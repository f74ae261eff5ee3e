import { describe, expect, it } from '@jest/globals';
import { ServerResponse, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { createErrorResponder } from '../../../lib/core/refusals/error-format.js';
import type { KeyringFailure } from '../../../lib/core/refusals/failure.js';
import { FormatRuleLog } from '../../../lib/core/refusals/format-rule-log.js';
import { sendRefusal } from '../../../lib/express/send-refusal.js';

/** A real Node response on a socket that goes nowhere, and what was written to it. */
function nodeResponse() {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  let body = '';
  response.end = ((chunk?: unknown) => {
    body += chunk === undefined ? '' : String(chunk);
    return response;
  }) as ServerResponse['end'];
  return { response, body: () => body };
}

function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      error: (line: string) => void lines.push(`error ${line}`),
      debug: (line: string) => void lines.push(`debug ${line}`),
    },
  };
}

const formatRules = new FormatRuleLog();
const refusals = {
  errorResponse: createErrorResponder('cubeconnect'),
  formatRuleLine: (failure: KeyringFailure) => formatRules.lineFor(failure),
};
const failNext = () => {
  throw new Error('next must not be called');
};

describe('sendRefusal', () => {
  it('answers the refusal with its status, headers and JSON body', () => {
    const { response, body } = nodeResponse();
    const { lines, logger } = recordingLogger();
    sendRefusal(response, { reason: 'missing' }, refusals, logger, failNext);
    expect(response.statusCode).toBe(401);
    expect(response.getHeader('WWW-Authenticate')).toBe('Bearer realm="api"');
    expect(response.getHeader('Content-Type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(body())).toEqual({
      success: false,
      error: { code: 'AUTHENTICATION_REQUIRED', message: expect.any(String) },
    });
    expect(response.getHeader('Content-Length')).toBe(Buffer.byteLength(body()));
    expect(lines).toEqual([]);
  });

  it('logs a refusal that hides a fault of ours with its cause, and a format rule at debug', () => {
    const { response } = nodeResponse();
    const { lines, logger } = recordingLogger();
    sendRefusal(
      response,
      { reason: 'lookup_unavailable', cause: new Error('connection reset') },
      refusals,
      logger,
      failNext,
    );
    expect(response.statusCode).toBe(503);
    sendRefusal(
      nodeResponse().response,
      { reason: 'invalid', detail: 'its checksum does not match' },
      refusals,
      logger,
      failNext,
    );
    expect(lines).toEqual([
      'error [nest-keyring] API key lookup failed; answered 503: connection reset',
      'debug [nest-keyring] API key refused before any lookup: its checksum does not match',
    ]);
  });

  it('writes nothing to a response whose headers were sent, and hands the refusal to next', () => {
    const { response, body } = nodeResponse();
    Object.defineProperty(response, 'headersSent', { value: true });
    const forwarded: unknown[] = [];
    const failure: KeyringFailure = { reason: 'invalid' };
    sendRefusal(response, failure, refusals, recordingLogger().logger, (error) => forwarded.push(error));
    expect(forwarded).toHaveLength(1);
    expect((forwarded[0] as Error).message).toBe('nest-keyring: request refused (invalid) after its response was sent');
    expect(body()).toBe('');
    expect(response.getHeader('WWW-Authenticate')).toBeUndefined();
  });
});
