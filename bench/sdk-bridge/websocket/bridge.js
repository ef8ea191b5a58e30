'use strict';
// RingCentral push notifications -> MQTT with the official JS SDK 5.0 and WebSocket
// delivery, what a user would run beside a plain broker instead of mosquitto-ringcentral.
// The gateway's address comes from POST /restapi/oauth/wstoken, as with RingCentral.
// Usage and options: ../README.md (node bridge.js --help).
const { SDK } = require('@ringcentral/sdk');
const { Subscriptions } = require('@ringcentral/subscriptions');
const mqtt = require('mqtt');
const { parseArgs, connectMqtt, run } = require('../common.js');

const opts = parseArgs(process.argv.slice(2));

run(async () => {
  const { publish, client } = await connectMqtt(mqtt, opts);
  const sdk = new SDK({
    server: opts.server,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
  });
  await sdk.platform().login({ jwt: opts.jwt });
  const subscriptions = new Subscriptions({ sdk });
  const subscription = subscriptions.createSubscription();
  subscription.on(subscription.events.notification, publish);
  subscription.setEventFilters(opts.filters);
  // Resolves once the subscription exists on the gateway: its notifications flow from now.
  const wsSubscription = await subscription.register();
  return async () => {
    await wsSubscription.revoke().catch(() => {});
    if (wsSubscription.wse) await wsSubscription.wse.revoke().catch(() => {});
    client.end();
  };
});
