export * from './api-key-module-options.interface.js';
