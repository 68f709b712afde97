import NIOCore

// The records the classic group coordinator keeps in the compacted `__consumer_offsets`
// topic, in Kafka's own formats (../shared/kafka-protocol/group-coordinator/*.json), so that
// tools reading that topic keep working.
//
// Every key and value starts with an int16 schema version, big-endian. The key version says
// what kind of record it is:
//
//   key version 0 or 1  OffsetCommitKey    group string, topic string, partition int32
//   key version 2       GroupMetadataKey   group string
//   key version 3+      records of the KIP-848 consumer and share groups (not ours: skipped)
//
// "string" is an int16 byte length then UTF-8; "bytes" an int32 length then the bytes. A
// record whose value is null is a tombstone: the offset or group was deleted, and compaction
// eventually removes both.
//
// Values this coordinator writes, matching Kafka 3.x (IBP >= 2.3):
//   OffsetCommitValue v3: offset int64, leaderEpoch int32, metadata string, commitTimestamp int64
//   OffsetCommitValue v1 instead when the commit carried a retention time (OffsetCommit v2-4):
//                         offset int64, metadata string, commitTimestamp int64, expireTimestamp int64
//   GroupMetadataValue v3: protocolType string, generation int32, protocol nullable string,
//                         leader nullable string, currentStateTimestamp int64, members array
//                         (int32 count) of { memberId string, groupInstanceId nullable string,
//                         clientId string, clientHost string, rebalanceTimeout int32,
//                         sessionTimeout int32, subscription bytes, assignment bytes }
// The reader accepts every version, 0-4, including the flexible v4 (compact lengths and
// tagged-field sections) that newer Kafka versions may write.

/// The key of an offset commit record (`OffsetCommitKey`, written as version 1).
public struct OffsetCommitKey: Sendable, Hashable {
    public var group: String
    public var topic: String
    public var partition: Int32

    public init(group: String, topic: String, partition: Int32) {
        self.group = group
        self.topic = topic
        self.partition = partition
    }
}

/// The value of an offset commit record (`OffsetCommitValue`).
public struct OffsetCommitValue: Sendable, Equatable {
    /// The next offset to consume.
    public var offset: Int64
    /// v3+; -1 when unknown.
    public var leaderEpoch: Int32
    public var metadata: String
    public var commitTimestamp: Int64
    /// v1 only; -1 when the commit used the broker's retention.
    public var expireTimestamp: Int64

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String, commitTimestamp: Int64,
                expireTimestamp: Int64 = -1) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.expireTimestamp = expireTimestamp
    }

    /// The version Kafka 3.x writes: v1 when an explicit expire timestamp must be kept,
    /// v3 otherwise.
    public var preferredVersion: Int16 { expireTimestamp >= 0 ? 1 : 3 }
}

/// The value of a group metadata record (`GroupMetadataValue`).
public struct GroupMetadataValue: Sendable, Equatable {
    public struct MemberMetadata: Sendable, Equatable {
        public var memberId: String
        public var groupInstanceId: String?
        public var clientId: String
        public var clientHost: String
        public var rebalanceTimeout: Int32
        public var sessionTimeout: Int32
        public var subscription: ByteBuffer
        public var assignment: ByteBuffer

        public init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
                    rebalanceTimeout: Int32, sessionTimeout: Int32, subscription: ByteBuffer,
                    assignment: ByteBuffer) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.clientId = clientId
            self.clientHost = clientHost
            self.rebalanceTimeout = rebalanceTimeout
            self.sessionTimeout = sessionTimeout
            self.subscription = subscription
            self.assignment = assignment
        }
    }

    public var protocolType: String
    public var generation: Int32
    public var `protocol`: String?
    public var leader: String?
    /// v2+; -1 when unknown.
    public var currentStateTimestamp: Int64
    public var members: [MemberMetadata]

    public init(protocolType: String, generation: Int32, protocol: String?, leader: String?,
                currentStateTimestamp: Int64, members: [MemberMetadata]) {
        self.protocolType = protocolType
        self.generation = generation
        self.protocol = `protocol`
        self.leader = leader
        self.currentStateTimestamp = currentStateTimestamp
        self.members = members
    }

    /// The version Kafka 3.x writes.
    public static let preferredVersion: Int16 = 3
}

/// The key of any `__consumer_offsets` record, decoded far enough to route it.
public enum GroupRecordKey: Sendable, Hashable {
    case offsetCommit(OffsetCommitKey)
    case groupMetadata(group: String)
    /// A record kind this coordinator does not own (KIP-848 consumer groups, share groups);
    /// reload skips it.
    case other(version: Int16)

    /// Writes the key with its version prefix: OffsetCommitKey v1, GroupMetadataKey v2.
    public func encode() throws -> ByteBuffer {
        var w = GroupRecordWriter(buffer: ByteBuffer(), flexible: false)
        switch self {
        case .offsetCommit(let key):
            w.int16(1)
            try w.string(key.group, field: "group")
            try w.string(key.topic, field: "topic")
            w.int32(key.partition)
        case .groupMetadata(let group):
            w.int16(2)
            try w.string(group, field: "group")
        case .other(let version):
            throw GroupRecordError.unsupportedVersion(record: "key", version: version)
        }
        return w.buffer
    }

    /// Reads a key. Unknown key versions are `.other`, not errors: the topic is shared with
    /// record kinds this coordinator does not manage.
    public static func decode(_ buffer: ByteBuffer) throws -> GroupRecordKey {
        var r = GroupRecordReader(buffer: buffer, flexible: false)
        let version = try r.int16("key version")
        switch version {
        case 0, 1:
            let group = try r.string("group")
            let topic = try r.string("topic")
            let partition = try r.int32("partition")
            return .offsetCommit(OffsetCommitKey(group: group, topic: topic, partition: partition))
        case 2:
            return .groupMetadata(group: try r.string("group"))
        default:
            return .other(version: version)
        }
    }
}

extension OffsetCommitValue {
    /// Writes the value with its version prefix (`preferredVersion` unless told otherwise).
    public func encode(version: Int16? = nil) throws -> ByteBuffer {
        let v = version ?? preferredVersion
        guard (0...4).contains(v) else { throw GroupRecordError.unsupportedVersion(record: "OffsetCommitValue", version: v) }
        var w = GroupRecordWriter(buffer: ByteBuffer(), flexible: v >= 4)
        w.int16(v)
        w.int64(offset)
        if v >= 3 { w.int32(leaderEpoch) }
        try w.string(metadata, field: "metadata")
        w.int64(commitTimestamp)
        if v == 1 { w.int64(expireTimestamp) }
        w.emptyTaggedFields()
        return w.buffer
    }

    public static func decode(_ buffer: ByteBuffer) throws -> OffsetCommitValue {
        var version = GroupRecordReader(buffer: buffer, flexible: false)
        let v = try version.int16("OffsetCommitValue version")
        guard (0...4).contains(v) else { throw GroupRecordError.unsupportedVersion(record: "OffsetCommitValue", version: v) }
        var r = GroupRecordReader(buffer: version.buffer, flexible: v >= 4)
        let offset = try r.int64("offset")
        let leaderEpoch = v >= 3 ? try r.int32("leaderEpoch") : -1
        let metadata = try r.string("metadata")
        let commitTimestamp = try r.int64("commitTimestamp")
        let expireTimestamp = v == 1 ? try r.int64("expireTimestamp") : -1
        try r.skipTaggedFields("OffsetCommitValue")
        return OffsetCommitValue(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata,
                                 commitTimestamp: commitTimestamp, expireTimestamp: expireTimestamp)
    }
}

extension GroupMetadataValue {
    public func encode(version: Int16 = GroupMetadataValue.preferredVersion) throws -> ByteBuffer {
        guard (0...4).contains(version) else {
            throw GroupRecordError.unsupportedVersion(record: "GroupMetadataValue", version: version)
        }
        var w = GroupRecordWriter(buffer: ByteBuffer(), flexible: version >= 4)
        w.int16(version)
        try w.string(protocolType, field: "protocolType")
        w.int32(generation)
        try w.nullableString(`protocol`, field: "protocol")
        try w.nullableString(leader, field: "leader")
        if version >= 2 { w.int64(currentStateTimestamp) }
        w.arrayCount(members.count)
        for m in members {
            try w.string(m.memberId, field: "memberId")
            if version >= 3 { try w.nullableString(m.groupInstanceId, field: "groupInstanceId") }
            try w.string(m.clientId, field: "clientId")
            try w.string(m.clientHost, field: "clientHost")
            if version >= 1 { w.int32(m.rebalanceTimeout) }
            w.int32(m.sessionTimeout)
            w.bytes(m.subscription)
            w.bytes(m.assignment)
            w.emptyTaggedFields()
        }
        w.emptyTaggedFields()
        return w.buffer
    }

    public static func decode(_ buffer: ByteBuffer) throws -> GroupMetadataValue {
        var version = GroupRecordReader(buffer: buffer, flexible: false)
        let v = try version.int16("GroupMetadataValue version")
        guard (0...4).contains(v) else { throw GroupRecordError.unsupportedVersion(record: "GroupMetadataValue", version: v) }
        var r = GroupRecordReader(buffer: version.buffer, flexible: v >= 4)
        let protocolType = try r.string("protocolType")
        let generation = try r.int32("generation")
        let proto = try r.nullableString("protocol")
        let leader = try r.nullableString("leader")
        let timestamp = v >= 2 ? try r.int64("currentStateTimestamp") : -1
        let count = try r.arrayCount("members")
        var members: [MemberMetadata] = []
        members.reserveCapacity(count)
        for _ in 0..<count {
            let memberId = try r.string("memberId")
            let instanceId = v >= 3 ? try r.nullableString("groupInstanceId") : nil
            let clientId = try r.string("clientId")
            let clientHost = try r.string("clientHost")
            let rebalanceTimeout = v >= 1 ? try r.int32("rebalanceTimeout") : -1
            let sessionTimeout = try r.int32("sessionTimeout")
            let subscription = try r.bytes("subscription")
            let assignment = try r.bytes("assignment")
            try r.skipTaggedFields("MemberMetadata")
            members.append(MemberMetadata(memberId: memberId, groupInstanceId: instanceId, clientId: clientId,
                                          clientHost: clientHost, rebalanceTimeout: rebalanceTimeout,
                                          sessionTimeout: sessionTimeout, subscription: subscription,
                                          assignment: assignment))
        }
        try r.skipTaggedFields("GroupMetadataValue")
        return GroupMetadataValue(protocolType: protocolType, generation: generation, protocol: proto,
                                  leader: leader, currentStateTimestamp: timestamp, members: members)
    }
}
