// node-redis (npm `redis` 5.x) with its client-side cache (RESP3, CLIENT TRACKING) on one
// Apiary node while another client writes through a different node.
// Usage: node client_side_cache.mjs READ_PORT WRITE_PORT. Prints "ok" and exits 0, or prints
// what went wrong and exits 1.
import { createClient, BasicClientSideCache } from 'redis';

const [readPort, writePort] = process.argv.slice(2).map(Number);
const fail = (why) => {
  console.log(`FAIL: ${why}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
const reader = createClient({
  url: `redis://127.0.0.1:${readPort}`,
  RESP: 3,
  clientSideCache: cache,
});
const writer = createClient({ url: `redis://127.0.0.1:${writePort}` });
reader.on('error', (e) => fail(`reader: ${e}`));
writer.on('error', (e) => fail(`writer: ${e}`));
await reader.connect();
await writer.connect();

const key = 'csc:greeting';
await writer.set(key, 'hello');
// The write reached the reader's node once GET through it answers it (W=2 of 3).
for (let i = 0; i < 100 && (await writer.get(key)) !== 'hello'; ++i) await sleep(10);

const first = await reader.get(key);
if (first !== 'hello') fail(`first read answered ${first}`);
const second = await reader.get(key);
if (second !== 'hello') fail(`second read answered ${second}`);
const s1 = cache.stats();
if (s1.hitCount < 1) fail(`the second read was not served from the cache: ${JSON.stringify(s1)}`);
if (cache.size() < 1) fail('nothing cached');

// A write through another node invalidates the cached key: the reader's next read goes to the
// server and sees the new value, within a second.
await writer.set(key, 'world');
const start = Date.now();
let seen = await reader.get(key);
while (seen !== 'world' && Date.now() - start < 1000) {
  await sleep(5);
  seen = await reader.get(key);
}
if (seen !== 'world') fail(`still ${seen} one second after the write through another node`);
const ms = Date.now() - start;

// And it is cached again.
const before = cache.stats().hitCount;
await reader.get(key);
if (cache.stats().hitCount <= before) fail('not cached again after the invalidation');

await reader.quit();
await writer.quit();
console.log(`ok (invalidated within ${ms} ms)`);
