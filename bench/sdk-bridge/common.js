'use strict';
// common.js - what both SDK bridges share: options, the plugin's topic rule, the MQTT side.
// Each bridge passes its own mqtt module (node resolves packages from the bridge's
// directory, not from here).

const USAGE = `usage: node bridge.js --server URL --mqtt-port N [--mqtt-host 127.0.0.1]
       [--topic-prefix ringcentral] [--qos 0|1|2] --filter EVENT_FILTER [--filter ...]
       [--pubnub-origin HOST:PORT]   (pubnub bridge only; default: the server's host:port)
credentials from the environment: RC_CLIENT_ID, RC_CLIENT_SECRET, RC_JWT (JWT grant)`;

function fail(message) {
  process.stderr.write(`bridge: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { mqttHost: '127.0.0.1', topicPrefix: 'ringcentral', qos: 0, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--help' || key === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (value === undefined) fail(`${key} needs a value\n${USAGE}`);
    i++;
    switch (key) {
      case '--server': opts.server = value.replace(/\/+$/, ''); break;
      case '--mqtt-host': opts.mqttHost = value; break;
      case '--mqtt-port': opts.mqttPort = Number(value); break;
      case '--topic-prefix': opts.topicPrefix = value; break;
      case '--qos': opts.qos = Number(value); break;
      case '--filter': opts.filters.push(value); break;
      case '--pubnub-origin': opts.pubnubOrigin = value; break;
      default: fail(`unknown option ${key}\n${USAGE}`);
    }
  }
  if (!opts.server) fail('--server is required');
  if (!Number.isInteger(opts.mqttPort) || opts.mqttPort <= 0) fail('--mqtt-port is required');
  if (![0, 1, 2].includes(opts.qos)) fail('--qos must be 0, 1 or 2');
  if (!opts.filters.length) fail('at least one --filter is required');
  for (const k of ['RC_CLIENT_ID', 'RC_CLIENT_SECRET', 'RC_JWT']) {
    if (!process.env[k]) fail(`${k} is not set`);
  }
  opts.clientId = process.env.RC_CLIENT_ID;
  opts.clientSecret = process.env.RC_CLIENT_SECRET;
  opts.jwt = process.env.RC_JWT;
  return opts;
}

// The plugin's default topic (docs/interface.md, "Topics"): the event URL's path (an
// http(s) URL's path, or the event itself), query dropped, a leading /restapi/v1.0 level
// dropped, then the leading '/', under topic_prefix. null when the event is no path.
function topicFor(prefix, event) {
  if (typeof event !== 'string') return null;
  let path = event;
  const scheme = /^https?:\/\//i.exec(path);
  if (scheme) {
    const rest = path.slice(scheme[0].length);
    const slash = rest.search(/[/?]/);
    if (slash <= 0 || rest[slash] !== '/') return null;
    path = rest.slice(slash);
  } else if (!path.startsWith('/')) {
    return null;
  }
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  const api = '/restapi/v1.0';
  if (path.startsWith(api) && (path.length === api.length || path[api.length] === '/')) {
    path = path.slice(api.length);
  }
  if (path.startsWith('/')) path = path.slice(1);
  return `${prefix}/${path}`;
}

// Connects to the broker; resolves with a publish(notification) that sends
// JSON.stringify(notification) on the plugin's topic for its event.
function connectMqtt(mqtt, opts) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: opts.mqttHost,
      port: opts.mqttPort,
      protocol: 'mqtt',
      clientId: `rc-sdk-bridge-${process.pid}`,
      reconnectPeriod: 1000,
    });
    const stats = { published: 0, skipped: 0 };
    const publish = (notification) => {
      const topic = topicFor(opts.topicPrefix, notification && notification.event);
      if (topic === null) {
        stats.skipped++;
        return;
      }
      client.publish(topic, JSON.stringify(notification), { qos: opts.qos }, (err) => {
        if (err) process.stderr.write(`bridge: publish to ${topic} failed: ${err.message}\n`);
      });
      stats.published++;
    };
    client.once('connect', () => resolve({ client, publish, stats }));
    client.on('error', (err) => {
      process.stderr.write(`bridge: MQTT error: ${err.message}\n`);
      reject(err);
    });
  });
}

// Runs main(); prints "ready" when it resolves; on SIGTERM/SIGINT runs stop() (at most
// 3 s) and exits 0; any failure exits 1 with the reason on stderr.
function run(main) {
  let stop = null;
  const shutdown = async (signal) => {
    const timer = setTimeout(() => process.exit(0), 3000);
    try {
      if (stop) await stop();
    } catch (e) {
      process.stderr.write(`bridge: stopping after ${signal}: ${e && e.message}\n`);
    }
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`bridge: unhandled rejection: ${e && (e.stack || e.message || e)}\n`);
  });
  main()
    .then((stopFn) => {
      stop = stopFn;
      process.stdout.write('ready\n');
    })
    .catch((e) => {
      process.stderr.write(`bridge: ${e && (e.stack || e.message || e)}\n`);
      process.exit(1);
    });
}

module.exports = { parseArgs, topicFor, connectMqtt, run };
