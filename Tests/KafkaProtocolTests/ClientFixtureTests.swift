import Foundation
import NIOCore
import XCTest

@testable import KafkaProtocol

/// Whole request frames as real clients sent them: kcat on librdkafka 2.16 and confluent-kafka
/// (Python, librdkafka 2.16), flexible versions, captured in front of Tansu; Debian's kcat
/// (librdkafka 2.0.2: Metadata v4, Produce v7), captured in front of a Samsa broker because it
/// cannot read Tansu's ApiVersions reply. scripts/capture_fixtures.sh records them through a
/// proxy (scripts/capture_frames.py). Listed in
/// Fixtures/clients/manifest.json with the client, api key, version and the codec of the
/// Produce record batches.
///
/// Each frame must decode exactly (header chosen by api key and version, then the body, with
/// no byte left over) and re-encode to the same bytes; the record batches inside Produce must
/// decode with their codec and a verified CRC, carry the records the capture script sent, and
/// survive a re-encode (byte-exact when uncompressed).
final class ClientFixtureTests: XCTestCase {
    struct Entry: Decodable {
        var file: String
        var client: String
        var clientVersion: String
        var apiKey: Int16
        var apiName: String
        var apiVersion: Int16
        var codec: String?
    }

    static let directory: URL? = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/clients")

    func manifest() throws -> [Entry] {
        let dir = try XCTUnwrap(Self.directory)
        let data = try Data(contentsOf: dir.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode([Entry].self, from: data)
    }

    func frame(_ entry: Entry) throws -> ByteBuffer {
        let dir = try XCTUnwrap(Self.directory)
        return ByteBuffer(bytes: try Data(contentsOf: dir.appendingPathComponent(entry.file)))
    }

    func testManifestCoversEveryClientApiAndCodec() throws {
        let entries = try manifest()
        let files = try FileManager.default.contentsOfDirectory(atPath: try XCTUnwrap(Self.directory).path)
        XCTAssertEqual(Set(files.filter { $0.hasSuffix(".bin") }), Set(entries.map(\.file)), "manifest and files agree")
        for client in ["kcat216", "confluent-kafka", "kcat-debian"] {
            for api in ["ApiVersions", "Metadata"] {
                XCTAssertTrue(entries.contains { $0.client == client && $0.apiName == api }, "\(client) \(api)")
            }
            let codecs = Set(entries.filter { $0.client == client && $0.apiKey == ApiKey.produce.rawValue }.compactMap(\.codec))
            XCTAssertEqual(codecs, Set(CompressionCodec.allCases.map(\.name)), "\(client) Produce codecs")
        }
        // Debian's kcat speaks the older, non-flexible versions.
        XCTAssertEqual(Set(entries.filter { $0.client == "kcat-debian" }.map(\.apiVersion)), [3, 4, 7])
    }

    func testEveryFrameDecodesExactlyAndReencodesToTheSameBytes() throws {
        let entries = try manifest()
        XCTAssertEqual(entries.count, 45)
        for entry in entries {
            let original = try frame(entry)
            var buffer = original
            let header = try RequestHeader.decode(from: &buffer)
            XCTAssertEqual(header.requestApiKey, entry.apiKey, entry.file)
            XCTAssertEqual(header.requestApiVersion, entry.apiVersion, entry.file)
            let apiKey = try XCTUnwrap(header.apiKey, entry.file)
            let headerVersion = apiKey.requestHeaderVersion(apiVersion: entry.apiVersion)
            XCTAssertEqual(headerVersion, entry.apiVersion >= flexibleStart(apiKey) ? 2 : 1, entry.file)
            XCTAssertEqual(header.clientId.map { !$0.isEmpty }, true, "\(entry.file): clients send a client id")

            let body = try apiKey.requestType.init(from: &buffer, version: entry.apiVersion)
            XCTAssertEqual(buffer.readableBytes, 0, "\(entry.file): \(buffer.readableBytes) bytes left after the body")

            var reencoded = ByteBuffer()
            try header.encode(into: &reencoded, version: headerVersion)
            try body.encode(into: &reencoded, version: entry.apiVersion)
            XCTAssertEqual(reencoded, original, "\(entry.file): re-encode differs")
        }
    }

    func testApiVersionsRequestsNameTheClientSoftware() throws {
        for entry in try manifest() where entry.apiKey == ApiKey.apiVersions.rawValue {
            var buffer = try frame(entry)
            _ = try RequestHeader.decode(from: &buffer)
            let request = try ApiVersionsRequest(from: &buffer, version: entry.apiVersion)
            let expectedName = entry.client == "confluent-kafka" ? "confluent-kafka-python" : "librdkafka"
            XCTAssertEqual(request.clientSoftwareName, expectedName, entry.file)
            XCTAssertFalse(request.clientSoftwareVersion.isEmpty, entry.file)
        }
    }

    func testMetadataRequestsAskForTheProducedTopic() throws {
        for entry in try manifest() where entry.apiKey == ApiKey.metadata.rawValue {
            var buffer = try frame(entry)
            _ = try RequestHeader.decode(from: &buffer)
            let request = try MetadataRequest(from: &buffer, version: entry.apiVersion)
            // Files are named <client>-<codec>-NN-...; each session produced to fixture-<codec>.
            let codec = entry.file.dropFirst(entry.client.count + 1).prefix { $0 != "-" }
            let topic = "fixture-\(codec)"
            XCTAssertEqual(request.topics?.map(\.name), [topic], entry.file)
            XCTAssertEqual(request.topics?.map(\.topicId), [KafkaUUID.zero], entry.file)
        }
    }

    func testProduceRecordBatchesDecodeWithTheirCodecAndRecords() throws {
        var produces = 0
        for entry in try manifest() where entry.apiKey == ApiKey.produce.rawValue {
            produces += 1
            var buffer = try frame(entry)
            _ = try RequestHeader.decode(from: &buffer)
            let request = try ProduceRequest(from: &buffer, version: entry.apiVersion)
            let codec = try XCTUnwrap(CompressionCodec(name: try XCTUnwrap(entry.codec)), entry.file)
            XCTAssertEqual(request.topicData.map(\.name), ["fixture-\(codec.name)"], entry.file)
            let partition = try XCTUnwrap(request.topicData.first?.partitionData.first, entry.file)
            XCTAssertEqual(partition.index, 0)
            let records = try XCTUnwrap(partition.records, entry.file)

            // decodeAll verifies each batch's CRC-32C before decompressing it.
            let decoded = try RecordBatch.decodeAll(from: records)
            XCTAssertFalse(decoded.hasPartialTrailingBatch, entry.file)
            XCTAssertEqual(decoded.batches.count, 1, entry.file)
            let batch = try XCTUnwrap(decoded.batches.first)
            XCTAssertEqual(batch.compression, codec, entry.file)
            XCTAssertEqual(batch.baseOffset, 0, "\(entry.file): producers send base offset 0")
            XCTAssertEqual(batch.records.map(\.offsetDelta), [0, 1, 2, 3, 4], entry.file)
            XCTAssertEqual(try RecordBatchHeader.peek(records, at: records.readerIndex).recordCount, 5)
            try checkRecords(of: batch, entry: entry)

            var reencoded = try batch.encoded()
            if codec == .none {
                XCTAssertEqual(reencoded, records, "\(entry.file): uncompressed batch re-encodes byte-exactly")
            }
            XCTAssertEqual(try RecordBatch.decode(from: &reencoded), batch, "\(entry.file): re-encoded batch differs")
        }
        XCTAssertEqual(produces, 15)
    }

    /// The records scripts/capture_fixtures.sh sent.
    private func checkRecords(of batch: RecordBatch, entry: Entry) throws {
        let keys = batch.records.map { $0.key.map { String(buffer: $0) } }
        let values = batch.records.map { $0.value.map { String(buffer: $0) } }
        switch entry.client {
        case "kcat216", "kcat-debian":
            // `kcat -K :` sends an empty (not null) key for ":value" and an empty value for "key:".
            XCTAssertEqual(keys, ["key-1", "key-2", "", "key-4", "key-5"], entry.file)
            XCTAssertEqual(values, ["value one", "value two, a little longer to compress: " + String(repeating: "a", count: 24),
                                    "value without key", "", "last value"], entry.file)
            for record in batch.records {
                XCTAssertEqual(record.headers.map(\.key), ["trace", "empty"], entry.file)
                XCTAssertEqual(record.headers.first?.value.map { String(buffer: $0) }, "abc", entry.file)
            }
            XCTAssertEqual(batch.producerId, -1, "\(entry.file): kcat is not idempotent by default")
        case "confluent-kafka":
            XCTAssertEqual(keys, ["key-0", "key-1", nil, "key-3", "key-4"], entry.file)
            XCTAssertEqual(values, (0..<5).map { String(repeating: "value \($0) ", count: $0 + 1) }, entry.file)
            XCTAssertEqual(batch.records.map { batch.timestamp(of: $0) }, (0..<5).map { 1_700_000_000_000 + Int64($0) })
            XCTAssertEqual(batch.records.map(\.headers), (0..<5).map {
                $0 % 2 == 1 ? [RecordHeader(key: "h", value: ByteBuffer(string: "v\($0)"))] : []
            }, entry.file)
            // enable.idempotence: a producer id and sequence numbers from 0.
            XCTAssertGreaterThanOrEqual(batch.producerId, 0, entry.file)
            XCTAssertEqual(batch.baseSequence, 0, entry.file)
        default:
            XCTFail("\(entry.file): no Produce fixtures expected from \(entry.client)")
        }
    }

    private func flexibleStart(_ apiKey: ApiKey) -> Int16 {
        apiKey.requestType.flexibleVersionsStart ?? Int16.max
    }
}
