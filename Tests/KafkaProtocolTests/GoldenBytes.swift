import NIOCore
import XCTest
@testable import KafkaProtocol

/// Builds a buffer from hand-written hex groups (`"00 12"`) and ASCII runs, so golden byte
/// tests read like the protocol guide: every length and count below is written out by hand.
enum Golden {
    case hex(String)
    case ascii(String)

    static func bytes(_ parts: [Golden]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for part in parts {
            switch part {
            case let .hex(text):
                for pair in text.split(separator: " ") {
                    guard let byte = UInt8(pair, radix: 16), pair.count == 2 else {
                        preconditionFailure("bad hex group \(pair) in a golden test")
                    }
                    buffer.writeInteger(byte)
                }
            case let .ascii(text):
                buffer.writeString(text)
            }
        }
        return buffer
    }
}

extension XCTestCase {
    /// Asserts that `value` encodes to exactly `expected` at `version`, and that `expected`
    /// decodes to exactly `value`, consuming every byte.
    func assertGolden<T: KafkaMessage>(
        _ value: T, version: Int16, _ expected: ByteBuffer, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var encoded = ByteBuffer()
        try value.encode(into: &encoded, version: version)
        XCTAssertEqual(hexDump(encoded), hexDump(expected), "\(T.self) v\(version) encoding", file: file, line: line)
        var reader = expected
        let decoded = try T(from: &reader, version: version)
        XCTAssertEqual(decoded, value, "\(T.self) v\(version) decoding", file: file, line: line)
        XCTAssertEqual(reader.readableBytes, 0, "\(T.self) v\(version) left bytes", file: file, line: line)
    }

    func hexDump(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined(separator: " ")
    }
}
