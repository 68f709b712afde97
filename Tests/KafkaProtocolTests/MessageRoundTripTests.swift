import NIOCore
import XCTest
@testable import KafkaProtocol

/// Every generated message at every valid version, with a non-default value in every field the
/// version has: decode(encode(x)) == x, the decoder consumes exactly the encoded bytes, and
/// re-encoding gives the same bytes.
final class MessageRoundTripTests: XCTestCase {
    func testEveryMessageAtEveryVersionRoundTrips() throws {
        var checked = 0
        for type in KafkaMessageTypes.all {
            guard let sampled = type as? any (KafkaMessage & SampleProviding).Type else {
                XCTFail("\(type) has no generated sample")
                continue
            }
            for version in type.validVersions {
                try roundTrip(sampled, version: version)
                checked += 1
            }
        }
        // 186 specs, 674 (message, version) pairs in the Kafka 4.0 specs.
        XCTAssertGreaterThan(checked, 600)
    }

    private func roundTrip<T: KafkaMessage & SampleProviding>(_ type: T.Type, version: Int16) throws {
        let sample = T.sample(version: version)
        var encoded = ByteBuffer()
        do {
            try sample.encode(into: &encoded, version: version)
        } catch {
            XCTFail("\(T.self) v\(version): encode threw \(error)")
            return
        }
        var reader = encoded
        let decoded: T
        do {
            decoded = try T(from: &reader, version: version)
        } catch {
            XCTFail("\(T.self) v\(version): decode threw \(error)")
            return
        }
        XCTAssertEqual(decoded, sample, "\(T.self) v\(version): decoded value differs")
        XCTAssertEqual(reader.readableBytes, 0, "\(T.self) v\(version): decoder left bytes")
        var reencoded = ByteBuffer()
        try decoded.encode(into: &reencoded, version: version)
        XCTAssertEqual(reencoded, encoded, "\(T.self) v\(version): re-encoding differs")
    }

    /// Feeding a decoder less than a whole message must fail with `truncated`: the decoder
    /// follows the same path as for the full bytes until they run out, so a prefix that
    /// "decodes" would mean a length or presence check is wrong. Messages up to 256 bytes are
    /// cut at every length, longer ones at 256 evenly spread lengths.
    func testEveryStrictPrefixThrowsTruncated() throws {
        var prefixes = 0
        for type in KafkaMessageTypes.all {
            guard let sampled = type as? any (KafkaMessage & SampleProviding).Type else { continue }
            for version in type.validVersions {
                prefixes += try checkPrefixes(sampled, version: version)
            }
        }
        XCTAssertGreaterThan(prefixes, 10_000)
    }

    private func checkPrefixes<T: KafkaMessage & SampleProviding>(_ type: T.Type, version: Int16) throws -> Int {
        var encoded = ByteBuffer()
        try T.sample(version: version).encode(into: &encoded, version: version)
        let length = encoded.readableBytes
        let step = max(1, length / 256)
        var checked = 0
        for cut in stride(from: 0, to: length, by: step) {
            var prefix = encoded.getSlice(at: encoded.readerIndex, length: cut)!
            XCTAssertThrowsError(try T(from: &prefix, version: version), "\(T.self) v\(version) cut at \(cut)") { error in
                guard case .truncated? = error as? ProtocolError else {
                    // A length prefix that now points past the end is reported as invalidLength.
                    guard case .invalidLength? = error as? ProtocolError else {
                        return XCTFail("\(T.self) v\(version) cut at \(cut): \(error)")
                    }
                    return
                }
            }
            checked += 1
        }
        return checked
    }
}

