#!/bin/bash
# Starts README's "A secured 3-node cluster" on this machine (ports 3970N clients, 3971N controllers),
# with a throw-away CA under /tmp/sec3/c/pki. Usage: scripts/secure-cluster/run.sh path/to/samsa;
# then: python scripts/secure-cluster/check.py; stop: kill $(cat /tmp/sec3/c/node*.pid)
set -e
BIN=$1; D=/tmp/sec3/c; rm -rf $D; mkdir -p $D/pki; cd $D/pki
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=samsa-ca 2>/dev/null
openssl req $ec -keyout node.key -out node.csr -subj /CN=samsa-node 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > node.ext
openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem -days 2 -extfile node.ext 2>/dev/null
cat node.key node.pem > node-keystore.pem
cid=$($BIN storage random-uuid)
for n in 1 2 3; do
mkdir -p $D/node$n
cat > $D/node$n/server.properties <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=1@127.0.0.1:39711,2@127.0.0.1:39712,3@127.0.0.1:39713
controller.listener.names=CONTROLLER
listeners=SASL_SSL://127.0.0.1:3970$n,CONTROLLER://127.0.0.1:3971$n
advertised.listeners=SASL_SSL://127.0.0.1:3970$n
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
inter.broker.listener.name=SASL_SSL
log.dirs=$D/node$n/data
ssl.keystore.type=PEM
ssl.keystore.location=$D/pki/node-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$D/pki/ca.pem
listener.name.controller.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=samsa-node
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
PROPS
$BIN storage format -t $cid -c $D/node$n/server.properties --add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]' --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]' >/dev/null
done
for n in 1 2 3; do setsid $BIN broker --config $D/node$n/server.properties > $D/node$n.log 2>&1 < /dev/null & echo $! > $D/node$n.pid; done
for n in 1 2 3; do for t in $(seq 1 300); do (echo > /dev/tcp/127.0.0.1/3970$n) 2>/dev/null && break; sleep 0.2; done; done
echo up
