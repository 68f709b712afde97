import KafkaProtocol

/// The controller's leader-election and reassignment operations (ElectLeaders 43,
/// AlterPartitionReassignments 45, ListPartitionReassignments 46): ``ReplicationControl`` (pure)
/// run on the current image, its records committed in one batch before the answer is returned.
/// On a multi-node cluster these run on the active controller (the broker handlers reach it by
/// forwarding, like CreateTopics); on a single node on the node itself.
extension LocalController {
    public func electLeaders(type: ReplicationControl.ElectionType,
                             partitions: [(topic: String, partitions: [Int32])]?) async throws -> [ReplicationControl.PartitionResult] {
        try await commitComputedAsync { image, _ -> ([MetadataRecord], [ReplicationControl.PartitionResult]) in
            let (records, results) = ReplicationControl.electLeaders(image: image, type: type, partitions: partitions)
            return (records, results)
        }
    }

    public func alterPartitionReassignments(_ requests: [(topic: String, partition: Int32, replicas: [Int32]?)],
                                            uncleanDefault: Bool) async throws -> [ReplicationControl.PartitionResult] {
        try await commitComputedAsync { image, _ -> ([MetadataRecord], [ReplicationControl.PartitionResult]) in
            let (records, results) = ReplicationControl.alterPartitionReassignments(image: image, brokerDefaultUnclean: uncleanDefault,
                                                                                    requests: requests)
            return (records, results)
        }
    }

    /// Read-only: the committed image.
    public func listPartitionReassignments(topics: [(name: String, partitions: [Int32])]?) -> [ReplicationControl.OngoingReassignment] {
        ReplicationControl.listPartitionReassignments(image: store.image, topics: topics)
    }
}
