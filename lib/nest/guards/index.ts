export * from './api-key.guard.js';
