import XCTest
@testable import Broker
import KafkaProtocol
import Logging
import NIOCore

/// BrokerRegistration (62) and BrokerHeartbeat (63) through a handler registry (real frames,
/// every version) over ClusterControlService on a LocalController's metadata store, with a
/// manual clock: epochs are the records' real offsets in the store, replies follow commits.
final class BrokerLifecycleHandlerTests: XCTestCase {
    private var dir = ""
    private var store: MetadataStore!
    private var controller: LocalController!
    private var service: ClusterControlService!
    private var registry: HandlerRegistry!
    private let clock = LockedBox<Int64>(0)
    private let active = LockedBox<Bool>(true)
    private var correlation: Int32 = 0

    override func setUpWithError() throws {
        dir = "/tmp/samsa-broker-lifecycle-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectories(dir)
        store = try MetadataStore.open(directory: dir, clusterId: "cluster-A", nodeId: 100)
        controller = LocalController(store: store, random: { 42 })
        let clock = self.clock, active = self.active
        service = ClusterControlService(clusterId: "cluster-A", sessionTimeoutMs: 9000, log: controller, nowMs: { clock.value })
        var r = HandlerRegistry(logger: Logger(label: "test"))
        BrokerLifecycleApis.register(into: &r, service: service, isActiveController: { active.value }, logger: Logger(label: "test"))
        r.registerApiVersions()
        registry = r
    }

    override func tearDown() { try? runRemove(dir) }

    private func send<R: KafkaRequest>(_ request: R, version: Int16) async throws -> R.Response {
        correlation += 1
        var frame = ByteBuffer()
        try request.encode(into: &frame, version: version, correlationId: correlation, clientId: "broker")
        guard case .respond(var bytes) = await registry.dispatch(frame: frame, connection: ConnectionInfo(
            connectionId: 1, clientHost: "127.0.0.1", clientPort: 1, listenerName: "CONTROLLER")) else {
            throw CloseConnection("no response")
        }
        _ = bytes.readInteger(as: Int32.self)
        let (header, body) = try R.Response.decode(from: &bytes, version: version)
        XCTAssertEqual(header.correlationId, correlation)
        return body
    }

    private func registration(_ id: Int32, incarnation: UInt64 = 1) -> BrokerRegistrationRequest {
        var r = BrokerRegistrationRequest()
        r.brokerId = id
        r.clusterId = "cluster-A"
        r.incarnationId = KafkaUUID(mostSignificantBits: UInt64(id), leastSignificantBits: incarnation)
        r.listeners = [.init(name: "PLAINTEXT", host: "h\(id)", port: 9092, securityProtocol: 0)]
        return r
    }

    func testRegisterThenHeartbeatToUnfencedAtEveryVersion() async throws {
        _ = try store.commit([.noOp, .noOp])
        for (i, version) in BrokerRegistrationHandler.versions.enumerated() {
            let id = Int32(i + 1)
            let offsetBefore = store.image.recordCount
            let reply = try await send(registration(id), version: version)
            XCTAssertEqual(reply.errorCode, 0, "v\(version)")
            XCTAssertEqual(reply.brokerEpoch, offsetBefore, "v\(version): the epoch is the record's offset in the store")
            XCTAssertEqual(store.image.brokers[id]?.fenced, true, "committed before the reply")
            let hbVersion = Int16(i % 2)
            let hb = try await send(BrokerHeartbeatRequest(brokerId: id, brokerEpoch: reply.brokerEpoch,
                                                           currentMetadataOffset: store.image.recordCount - 1), version: hbVersion)
            XCTAssertEqual(hb.errorCode, 0)
            XCTAssertTrue(hb.isCaughtUp)
            XCTAssertFalse(hb.isFenced)
            XCTAssertFalse(hb.shouldShutDown)
            XCTAssertEqual(store.image.brokers[id]?.fenced, false)
        }
        let stale = try await send(BrokerHeartbeatRequest(brokerId: 1, brokerEpoch: 999, currentMetadataOffset: 0), version: 1)
        XCTAssertEqual(stale.errorCode, ErrorCode.staleBrokerEpoch.rawValue)
    }

    func testSessionExpiryThroughTheServiceAndDuplicateRegistration() async throws {
        let first = try await send(registration(1), version: 4)
        _ = try await send(BrokerHeartbeatRequest(brokerId: 1, brokerEpoch: first.brokerEpoch, currentMetadataOffset: first.brokerEpoch), version: 1)
        clock.mutate { $0 = 5000 }
        let dup = try await send(registration(1, incarnation: 2), version: 4)
        XCTAssertEqual(dup.errorCode, ErrorCode.duplicateBrokerRegistration.rawValue)
        let none = try await service.fenceExpiredSessions()
        XCTAssertEqual(none, [])
        clock.mutate { $0 = 9001 }
        let fenced = try await service.fenceExpiredSessions()
        XCTAssertEqual(fenced, [.brokerRegistrationChange(id: 1, epoch: first.brokerEpoch, fenced: true, inControlledShutdown: nil)])
        XCTAssertEqual(store.image.brokers[1]?.fenced, true)
        let again = try await send(registration(1, incarnation: 2), version: 4)
        XCTAssertEqual(again.errorCode, 0)
        XCTAssertGreaterThan(again.brokerEpoch, first.brokerEpoch)
    }

    func testApiVersionsAdvertisesBothApis() async throws {
        let versions = try await send(ApiVersionsRequest(), version: 3)
        let keys = Dictionary(uniqueKeysWithValues: versions.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
        XCTAssertEqual(keys[62], 0...4)
        XCTAssertEqual(keys[63], 0...1)
    }

    func testNotControllerWhenInactive() async throws {
        active.mutate { $0 = false }
        let reg = try await send(registration(1), version: 4)
        let hb = try await send(BrokerHeartbeatRequest(brokerId: 1, brokerEpoch: 0), version: 1)
        XCTAssertEqual(reg.errorCode, ErrorCode.notController.rawValue)
        XCTAssertEqual(hb.errorCode, ErrorCode.notController.rawValue)
        XCTAssertNil(store.image.brokers[1], "nothing written")
    }

    func testInconsistentClusterIdOverTheWire() async throws {
        var r = registration(1)
        r.clusterId = "other"
        let reply = try await send(r, version: 2)
        XCTAssertEqual(reply.errorCode, ErrorCode.inconsistentClusterId.rawValue)
        XCTAssertEqual(store.image.recordCount, 0)
    }

    /// A commit that fails (disk, lost leadership) leaves neither records nor session changes,
    /// and the handler answers the controller's error code instead of an epoch.
    func testFailedCommitRollsTheSessionBack() async throws {
        struct FailingLog: ControllerMetadataLog {
            let image: MetadataImage
            func appendComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R {
                _ = try body(image, image.recordCount)
                throw ControllerError(41, "This is not the correct controller for this cluster.")
            }
        }
        let failing = ClusterControlService(clusterId: "cluster-A", sessionTimeoutMs: 9000,
                                            log: FailingLog(image: store.image), nowMs: { 0 })
        let handler = BrokerRegistrationHandler(service: failing, isActiveController: { true }, logger: Logger(label: "test"))
        let reply = try await handler.handle(registration(1), context: RequestContext(
            apiVersion: 4, correlationId: 1, clientId: nil, clientHost: "h", connectionId: 1, listenerName: "CONTROLLER"))
        XCTAssertEqual(reply?.errorCode, ErrorCode.notController.rawValue)
        XCTAssertEqual(failing.control.sessions, [:], "the session made for the registration is gone with it")
    }
}
