/// Kafka's `uuid` type: 16 bytes, used for topic ids, directory ids and member ids.
///
/// Its description is Kafka's form: the 16 bytes in URL-safe base64 without padding
/// (22 characters), e.g. `AAAAAAAAAAAAAAAAAAAAAA` for `.zero`. A value type; `Sendable`.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    /// The first 8 bytes, big-endian (Java's `Uuid.getMostSignificantBits`).
    public var mostSignificantBits: UInt64
    /// The last 8 bytes, big-endian.
    public var leastSignificantBits: UInt64

    @inlinable
    public init(mostSignificantBits: UInt64, leastSignificantBits: UInt64) {
        self.mostSignificantBits = mostSignificantBits
        self.leastSignificantBits = leastSignificantBits
    }

    /// The all-zero id, Kafka's `Uuid.ZERO_UUID` ("no topic id").
    public static let zero = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)
    /// Kafka's `Uuid.ONE_UUID`, reserved for the metadata topic.
    public static let metadataTopicId = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 1)

    /// The 16 bytes, most significant first.
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: mostSignificantBits >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: leastSignificantBits >> UInt64(shift)))
        }
        return result
    }

    /// Builds an id from exactly 16 bytes; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(mostSignificantBits: high, leastSignificantBits: low)
    }

    /// A random version-4 id, as Kafka's `Uuid.randomUuid()` makes them: never one of the
    /// reserved ids (zero, the metadata topic id), and never one whose text form starts with
    /// `-`, which command lines would take for an option.
    public static func random() -> KafkaUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// `random()` with an injected generator, for deterministic tests.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> KafkaUUID {
        while true {
            var high = generator.next() as UInt64
            var low = generator.next() as UInt64
            high = (high & ~0xF000) | 0x4000  // version 4
            low = (low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000  // IETF variant
            let candidate = KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
            if candidate != .zero && candidate != .metadataTopicId && !candidate.description.hasPrefix("-") {
                return candidate
            }
        }
    }

    /// Parses Kafka's 22-character URL-safe base64 form; nil if it is not exactly 16 bytes.
    public init?(_ string: String) {
        var bits: UInt32 = 0
        var bitCount = 0
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for character in string.utf8 {
            guard let value = KafkaUUID.base64Value(character) else { return nil }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(bitCount)))
                bits &= (1 << UInt32(bitCount)) - 1
            }
        }
        guard string.utf8.count == 22, bits == 0 else { return nil }
        self.init(bytes: bytes)
    }

    public var description: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(22)
        var bits: UInt32 = 0
        var bitCount = 0
        for byte in self.bytes {
            bits = bits << 8 | UInt32(byte)
            bitCount += 8
            while bitCount >= 6 {
                bitCount -= 6
                output.append(alphabet[Int((bits >> UInt32(bitCount)) & 0x3f)])
            }
        }
        if bitCount > 0 {
            output.append(alphabet[Int((bits << UInt32(6 - bitCount)) & 0x3f)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func base64Value(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
