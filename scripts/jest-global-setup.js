// Probes the Redis the integration tests use. Without one, CI fails at once (it must run every
// suite); a developer's run goes on and skips the Redis cases, saying so.
const net = require('node:net');

function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port || 6379), hostname || '127.0.0.1');
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    // A server that wants a password answers NOAUTH: it is there, and the tests' URL carries the password.
    socket.on('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(String(data))));
  });
}

module.exports = async function globalSetup() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const up = await redisAnswers(url);
  process.env.DEALS_TEST_REDIS = up ? 'up' : 'down';
  if (up) return;
  if (process.env.CI) throw new Error(`CI runs the Redis suites, but no Redis answers at ${url}`);
  console.warn(`\nNo Redis answers at ${url}: the Redis test cases are skipped. Start one (redis-server) or set REDIS_URL to run them.\n`);
};
