export * from './api-key-module-options.interface.js';
export * from './keyring-request.interface.js';
