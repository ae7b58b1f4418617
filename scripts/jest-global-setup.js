// Probes the Redis and the Kafka broker the integration tests use. Without one, CI fails at once
// (it must run every suite); a developer's run goes on and skips those cases, saying so.
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

function portAccepts(address) {
  const [host, port] = address.trim().split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port || 9092), host || '127.0.0.1');
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => done(true));
  });
}

function report(service, up, where, howToStart) {
  if (up) return;
  if (process.env.CI) throw new Error(`CI runs the ${service} suites, but none answers at ${where}`);
  console.warn(`\nNo ${service} answers at ${where}: its test cases are skipped. ${howToStart}\n`);
}

module.exports = async function globalSetup() {
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const redisUp = await redisAnswers(redisUrl);
  process.env.DEALS_TEST_REDIS = redisUp ? 'up' : 'down';
  const broker = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',')[0];
  // The broker opens its client port only once it is ready, so an accepted connection is enough.
  const kafkaUp = await portAccepts(broker);
  process.env.DEALS_TEST_KAFKA = kafkaUp ? 'up' : 'down';
  report('Redis', redisUp, redisUrl, 'Start one (redis-server) or set REDIS_URL to run them.');
  report('Kafka broker', kafkaUp, broker, 'Start one with infra/kafka/kafka.sh start (Java 17, Maven) or set KAFKA_BROKERS.');
};
