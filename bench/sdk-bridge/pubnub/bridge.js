'use strict';
// RingCentral push notifications -> MQTT with the official JS SDK 4.7 and PubNub delivery,
// what a user would run beside a plain broker instead of mosquitto-ringcentral.
// Usage and options: ../README.md (node bridge.js --help).
const { SDK } = require('@ringcentral/sdk');
const { Subscriptions } = require('@ringcentral/subscriptions');
const mqtt = require('mqtt');
const { parseArgs, connectMqtt, run } = require('../common.js');

const opts = parseArgs(process.argv.slice(2));

// The SDK makes its PubNub client itself, with the public PubNub origins; its Subscriptions
// take the PubNub class to use (the `PubNub` option), so this one is the SDK's own class
// (the pubnub package it depends on) with the origin added.
function pubnubAt(PubNub, origin) {
  return class extends PubNub {
    constructor(config) {
      super(Object.assign({}, config, { origin, ssl: true }));
    }
  };
}

run(async () => {
  const { publish, client } = await connectMqtt(mqtt, opts);
  const sdk = new SDK({
    server: opts.server,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
  });
  await sdk.platform().login({ jwt: opts.jwt });
  const origin = opts.pubnubOrigin || new URL(opts.server).host;
  const PubNub = new Subscriptions({ sdk }).getPubNub();
  const subscriptions = new Subscriptions({ sdk, PubNub: pubnubAt(PubNub, origin) });
  const subscription = subscriptions.createSubscription();
  subscription.on(subscription.events.notification, publish);
  subscription.setEventFilters(opts.filters);
  await subscription.register();
  // Subscribed over REST; ready once the first PubNub long-poll (tt=0) has answered, so
  // that everything published from now on is fetched.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('PubNub did not connect in 30 s')), 30000);
    subscription.pubnub().addListener({
      status: (event) => {
        if (event.category === 'PNConnectedCategory') {
          clearTimeout(timer);
          resolve();
        } else if (event.error) {
          process.stderr.write(`bridge: PubNub status ${event.category}\n`);
        }
      },
    });
  });
  return async () => {
    await subscription.remove().catch(() => {});
    client.end();
  };
});
