export * from './tenant.interceptor.js';
