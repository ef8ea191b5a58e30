#!/bin/bash
# dynsec-ringcentral.sh - the policy of ringcentral.acl for a broker that uses the
# dynamic-security plugin instead of an acl_file: two roles and two groups, made with
# mosquitto_ctrl against the running broker.
#
#   conf/dynsec-ringcentral.sh [mosquitto_ctrl connection options]
#   e.g. conf/dynsec-ringcentral.sh -h 127.0.0.1 -u admin      (asks for the password)
#
# ringcentral-reader  may subscribe to ringcentral/# and receive it. A client publish to
#                     ringcentral/# is denied: dynsec's default already denies client
#                     publishes, and the explicit deny here (priority 100) also wins over
#                     a broader allow in another of the client's roles if this role has
#                     the higher role priority (addClientRole/addGroupRole ... <priority>).
# ringcentral-admin   may also publish to $CONTROL/ringcentral/# (the control
#                     API, plugin_opt_control_api true) and to the command topics
#                     ringcentral/bridge/command/# (presence, SMS, re-subscribe), and
#                     receive their answers; the reader role may not.
# Groups ringcentral-readers (reader role) and ringcentral-admins (both roles) carry them.
# Then add users:
#   mosquitto_ctrl ... dynsec createClient <user>
#   mosquitto_ctrl ... dynsec addGroupClient ringcentral-readers <user>
#
# The plugin's own messages are published by the broker itself and are not subject to
# these ACLs; a subscriber still needs subscribe + publishClientReceive to get them.
# Using another topic_prefix or topic_map templates? Replace ringcentral/# below.
set -euo pipefail
conn=("$@")
ds() { mosquitto_ctrl "${conn[@]}" dynsec "$@"; }

ds createRole ringcentral-reader
ds addRoleACL ringcentral-reader subscribePattern 'ringcentral/#' allow
ds addRoleACL ringcentral-reader publishClientReceive 'ringcentral/#' allow
ds addRoleACL ringcentral-reader publishClientSend 'ringcentral/#' deny 100
# The command topics' SMS texts and answers are not for readers.
ds addRoleACL ringcentral-reader subscribePattern 'ringcentral/bridge/command/#' deny 100
ds addRoleACL ringcentral-reader publishClientReceive 'ringcentral/bridge/command/#' deny 100

ds createRole ringcentral-admin
ds addRoleACL ringcentral-admin publishClientSend '$CONTROL/ringcentral/#' allow
ds addRoleACL ringcentral-admin subscribePattern '$CONTROL/ringcentral/#' allow
ds addRoleACL ringcentral-admin publishClientReceive '$CONTROL/ringcentral/#' allow
# The command topics (presence, SMS, re-subscribe) and their answers; priority above the
# reader role's denies.
ds addRoleACL ringcentral-admin publishClientSend 'ringcentral/bridge/command/#' allow 200
ds addRoleACL ringcentral-admin subscribePattern 'ringcentral/bridge/command/#' allow 200
ds addRoleACL ringcentral-admin publishClientReceive 'ringcentral/bridge/command/#' allow 200

ds createGroup ringcentral-readers
ds addGroupRole ringcentral-readers ringcentral-reader
ds createGroup ringcentral-admins
ds addGroupRole ringcentral-admins ringcentral-reader
# Priority 10: the admin role is checked before the reader role and its denies.
ds addGroupRole ringcentral-admins ringcentral-admin 10
