// Real clients of both WebSocket transports, behind one shape, for the gateway tests: connect
// (admitted, or refused in the handshake with the answer the client saw), send a message and
// read its reply or the exception the gateway sent for it.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { KeyringIoAdapter } from '../../lib/socket.io.js';
import { KeyringWsAdapter } from '../../lib/ws.js';

export type TransportName = 'socket.io' | 'ws';

/** What a client sends in its handshake. */
export interface Credentials {
  headers?: Record<string, string | string[]>;
  /** socket.io's auth payload (`{ token, tenant }`); the ws transport has none. */
  auth?: Record<string, unknown>;
  /** The address the client connects from (a 127.0.0.x address). */
  from?: string;
}

/** One message's outcome: the handler's reply, or the exception the gateway sent instead. */
export type Outcome = { reply: unknown } | { exception: unknown };

export interface Client {
  send(event: string, data?: unknown): Promise<Outcome>;
  /** Sends a message and waits for nothing (its reply, if any, is dropped). */
  post(event: string, data?: unknown): void;
  /** Exceptions sent outside any reply (e.g. before the server closes the connection). */
  readonly exceptions: unknown[];
  /** Resolves when the server ends the connection: the ws close code and reason, or socket.io's reason. */
  readonly ended: Promise<{ code?: number; reason: string }>;
  close(): Promise<void>;
}

/** A refused handshake as the client saw it: the code, and the body (ws: and the HTTP status). */
export interface Refusal {
  code: string;
  body: unknown;
  status?: number;
  headers?: IncomingMessage['headers'];
}

export type Connection = { ok: true; client: Client } | { ok: false; refusal: Refusal };

export interface Transport {
  name: TransportName;
  useAdapter(app: INestApplication): void;
  connect(port: number, credentials: Credentials, path?: string): Promise<Connection>;
}

const TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const socketIo: Transport = {
  name: 'socket.io',
  useAdapter: (app) => app.useWebSocketAdapter(new KeyringIoAdapter(app)),
  connect(port, { headers, auth, from }, namespace = '') {
    // Passed on to the WebSocket of Node's client, which engine.io-client's types do not list.
    const address = { localAddress: from };
    const socket = io(`http://127.0.0.1:${port}${namespace}`, {
      ...address,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: headers as Record<string, string> | undefined,
      auth,
    });
    const exceptions: unknown[] = [];
    socket.on('exception', (error: unknown) => exceptions.push(error));
    const ended = new Promise<{ reason: string }>((resolve) =>
      socket.once('disconnect', (reason) => resolve({ reason })),
    );
    return withTimeout(
      new Promise<Connection>((resolve) => {
        socket.once('connect', () => resolve({ ok: true, client: ioClient(socket, exceptions, ended) }));
        socket.once('connect_error', (error: Error & { data?: unknown }) => {
          socket.close();
          resolve({ ok: false, refusal: { code: error.message, body: error.data } });
        });
      }),
      'socket.io connect',
    );
  },
};

function ioClient(socket: Socket, exceptions: unknown[], ended: Client['ended']): Client {
  return {
    exceptions,
    ended,
    post: (event, data) => socket.emit(event, data ?? {}),
    send(event, data) {
      return withTimeout(
        new Promise<Outcome>((resolve) => {
          const onException = (exception: unknown) => resolve({ exception });
          socket.once('exception', onException);
          socket.emit(event, data ?? {}, (reply: unknown) => {
            socket.off('exception', onException);
            resolve({ reply });
          });
        }),
        `socket.io ${event}`,
      );
    },
    async close() {
      if (socket.connected) {
        const gone = new Promise((resolve) => socket.once('disconnect', resolve));
        socket.disconnect();
        await gone;
      }
    },
  };
}

const ws: Transport = {
  name: 'ws',
  useAdapter: (app) => app.useWebSocketAdapter(new KeyringWsAdapter(app)),
  connect(port, { headers, from }, path = '/') {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, localAddress: from });
    return withTimeout(
      new Promise<Connection>((resolve, reject) => {
        socket.once('open', () => resolve({ ok: true, client: wsClient(socket) }));
        socket.once('unexpected-response', (request, response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            request.destroy();
            const body = JSON.parse(text) as { error?: { code?: string } };
            resolve({
              ok: false,
              refusal: { code: String(body.error?.code), body, status: response.statusCode, headers: response.headers },
            });
          });
        });
        socket.once('error', reject);
      }),
      'ws connect',
    );
  },
};

function wsClient(socket: WebSocket): Client {
  const exceptions: unknown[] = [];
  const waiting: ((outcome: Outcome) => void)[] = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { event?: string; data?: unknown };
    const outcome: Outcome = message.event === 'exception' ? { exception: message.data } : { reply: message };
    const next = waiting.shift();
    if (next !== undefined) next(outcome);
    else if ('exception' in outcome) exceptions.push(outcome.exception);
  });
  const ended = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  return {
    exceptions,
    ended,
    post(event, data) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event, data: data ?? {} }));
    },
    send(event, data) {
      const outcome = new Promise<Outcome>((resolve) => waiting.push(resolve));
      socket.send(JSON.stringify({ event, data: data ?? {} }));
      return withTimeout(outcome, `ws ${event}`);
    },
    async close() {
      if (socket.readyState === WebSocket.OPEN) {
        socket.close();
        await ended;
      }
    },
  };
}

export const TRANSPORTS: Transport[] = [socketIo, ws];

/** Fails the file if any of its tests left a rejection that nothing handled. */
export function expectNoUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
}
