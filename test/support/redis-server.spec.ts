import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { describeWithRedis, startRedisServer, type RedisServer } from './redis-server.js';

describeWithRedis('the test redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server?.stop());

  it('answers a real client, and comes back empty after a restart', async () => {
    const client = createClient({ url: server.url });
    client.on('error', () => undefined);
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    await client.destroy();
    await server.stop({ abrupt: true });
    await server.start();
    const again = createClient({ url: server.url });
    await again.connect();
    expect(await again.get('k')).toBeNull();
    await again.destroy();
  });
});
