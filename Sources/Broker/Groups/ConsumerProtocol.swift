import NIOCore

/// Reads the topic list out of a `consumer`-protocol member's subscription metadata
/// (`ConsumerProtocolSubscription` v0-3: int16 version, then an int32-counted array of
/// int16-length topic names, then fields the coordinator does not need).
///
/// The coordinator needs the topics only to refuse OffsetDelete for a topic the group still
/// consumes (GROUP_SUBSCRIBED_TO_TOPIC). Returns nil for metadata it cannot parse.
enum ConsumerProtocolSubscription {
    static func topics(from metadata: ByteBuffer) -> [String]? {
        var reader = GroupRecordReader(buffer: metadata, flexible: false)
        guard let version = try? reader.int16("version"), version >= 0,
              let count = try? reader.arrayCount("topics") else { return nil }
        var topics: [String] = []
        topics.reserveCapacity(count)
        for _ in 0..<count {
            guard let topic = try? reader.string("topic") else { return nil }
            topics.append(topic)
        }
        return topics
    }
}
