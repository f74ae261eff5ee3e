export * from './tenant.interceptor.js';
export * from './webhook-ack.interceptor.js';
