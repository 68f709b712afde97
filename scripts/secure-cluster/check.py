"""The check README's secured 3-node cluster was verified with (confluent-kafka, after run.sh)."""
import time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, AclBinding, ResourceType, ResourcePatternType, AclOperation, AclPermissionType
def conf(u, p): return {"bootstrap.servers": "127.0.0.1:39701", "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
                        "sasl.username": u, "sasl.password": p, "ssl.ca.location": "/tmp/sec3/c/pki/ca.pem"}
a = AdminClient(conf("admin", "admin-secret"))
for i in range(60):
    md = a.list_topics(timeout=10)
    if len(md.brokers) == 3: break
    time.sleep(1)
print("brokers", sorted(md.brokers))
a.create_topics([NewTopic("orders", 3, 3)])["orders"].result()
a.create_acls([AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "*", AclOperation.WRITE, AclPermissionType.ALLOW),
               AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)])
time.sleep(1)
p = Producer({**conf("alice", "alice-secret"), "acks": "all"})
errs = []
for i in range(300): p.produce("orders", str(i).encode(), callback=lambda e, m: e and errs.append(e))
p.flush(30)
print("alice produced, errors:", len(errs))
c = Consumer({**conf("admin", "admin-secret"), "group.id": "g1", "auto.offset.reset": "earliest"})
c.assign([TopicPartition("orders", i, 0) for i in range(3)])
got = 0; t = time.time()
while got < 300 and time.time() - t < 30:
    m = c.poll(1)
    if m and not m.error(): got += 1
print("admin consumed", got)
md = a.list_topics("orders", timeout=10)
print("isr", [sorted(pp.isrs) for pp in md.topics["orders"].partitions.values()])
c2 = Consumer({**conf("alice", "alice-secret"), "group.id": "g2", "auto.offset.reset": "earliest"})
c2.assign([TopicPartition("orders", 0, 0)])
m = c2.poll(5)
print("alice read:", m.error() if m else None)
