/// The image as records: what a metadata snapshot holds.
extension MetadataImage {
    /// The shortest record list that rebuilds this image when applied, in order, to an empty
    /// image of the same cluster: applying it gives an image equal to this one except for
    /// ``recordCount`` (which counts the records applied, not state).
    ///
    /// Order, as Kafka's snapshot writers (`MetadataImage.write`) use it, so that every record
    /// finds what it refers to: feature levels (`metadata.version` first), brokers (one
    /// RegisterBrokerRecord each; it carries fenced / in-controlled-shutdown), topics by name
    /// (TopicRecord, its ConfigRecords, its PartitionRecords, which carry the current leader
    /// and partition epochs), broker and cluster configs, the producer id block, then SCRAM
    /// credentials (UserScramCredentialRecords, by user and mechanism), then ACLs by id.
    /// Deterministic: the same image always gives the same list (dictionaries are sorted).
    public func records() -> [MetadataRecord] {
        var out: [MetadataRecord] = []
        for (name, level) in features.sorted(by: { featureOrder($0.key, $1.key) }) {
            out.append(.featureLevel(name: name, level: level))
        }
        for (_, broker) in brokers.sorted(by: { $0.key < $1.key }) {
            out.append(.registerBroker(broker))
        }
        for (name, topic) in topics.sorted(by: { $0.key < $1.key }) {
            out.append(.topic(name: name, id: topic.id))
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                out.append(.config(resourceType: 2, resourceName: name, name: key, value: value))
            }
            for p in topic.partitions {
                out.append(.partition(topicID: topic.id, p))
            }
        }
        for (resource, configs) in brokerConfigs.sorted(by: { $0.key < $1.key }) {
            for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
                out.append(.config(resourceType: 4, resourceName: resource, name: key, value: value))
            }
        }
        if nextProducerId != 0 {
            out.append(.producerIds(nextProducerId: nextProducerId))
        }
        for (name, byMechanism) in scramCredentials.sorted(by: { $0.key < $1.key }) {
            for (mechanism, credential) in byMechanism.sorted(by: { $0.key < $1.key }) {
                out.append(.scramCredential(name: name, mechanism: mechanism, credential))
            }
        }
        for (_, binding) in acls.sorted(by: { $0.key < $1.key }) {
            out.append(.acl(binding))
        }
        return out
    }
}

/// `metadata.version` first: Kafka reads it before any other record to know how to decode them.
private func featureOrder(_ a: String, _ b: String) -> Bool {
    if a == b { return false }
    if a == "metadata.version" { return true }
    if b == "metadata.version" { return false }
    return a < b
}
