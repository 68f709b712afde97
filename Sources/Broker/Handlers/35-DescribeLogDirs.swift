// DescribeLogDirs (key 35), versions 0-4.
//
// Behaviour: for each log dir, the hosted partitions in it (all, or those requested) with
// their size in bytes and offset lag. OffsetLag is Kafka's: max(HW - LEO, 0) for a normal
// replica, which is 0 on a leader (it is not follower lag). v4 adds total and usable bytes of
// the file system (statvfs). Partitions not hosted here are left out, as Kafka does. A log
// dir taken offline by an I/O error answers KAFKA_STORAGE_ERROR (56) with no partitions.
// Version notes: v1 same as v0; v2 flexible; v3 top-level error code; v4 total/usable bytes.
import KafkaProtocol

public struct DescribeLogDirsHandler: RequestHandler {
    public typealias Request = DescribeLogDirsRequest
    public static let versions: ClosedRange<Int16> = 0...4

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DescribeLogDirsRequest, context: RequestContext) async throws -> DescribeLogDirsResponse? {
        // Kafka: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED and nothing listed.
        guard services.authorize(context, .describe, .cluster, AclResources.clusterName) else {
            var denied = DescribeLogDirsResponse()
            denied.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return denied
        }
        var wanted: [String: Set<Int32>]?
        if let topics = request.topics {
            wanted = [:]
            for t in topics { wanted![t.topic, default: []].formUnion(t.partitions) }
        }
        var byDir: [String: [String: [DescribeLogDirsResponse.DescribeLogDirsPartition]]] = [:]
        for p in services.replicas.allPartitions {
            if let wanted, !(wanted[p.topic]?.contains(p.index) ?? false) { continue }
            let dir = services.config.logDirs.first { p.log.directory.hasPrefix($0 + "/") } ?? services.config.logDirs[0]
            let lag = max(p.highWatermark - p.logEndOffset, 0)
            byDir[dir, default: [:]][p.topic, default: []].append(
                .init(partitionIndex: p.index, partitionSize: p.log.size, offsetLag: lag, isFutureKey: false))
        }
        // A dir taken offline by an I/O error answers KAFKA_STORAGE_ERROR without partitions,
        // as Kafka's `describeLogDirs` does for an offline dir.
        let offline = Set(services.replicas.allPartitions.map(\.log.dirHealth).filter(\.isOffline).map(\.directory))
        var response = DescribeLogDirsResponse()
        for dir in services.config.logDirs {
            var result = DescribeLogDirsResponse.DescribeLogDirsResult()
            result.logDir = dir
            if offline.contains(dir) {
                result.errorCode = ErrorCode.kafkaStorageError.rawValue
                response.results.append(result)
                continue
            }
            result.topics = (byDir[dir] ?? [:]).keys.sorted().map { name in
                .init(name: name, partitions: byDir[dir]![name]!.sorted { $0.partitionIndex < $1.partitionIndex })
            }
            if context.apiVersion >= 4 {
                let (total, usable) = Self.diskSpace(dir)
                result.totalBytes = total
                result.usableBytes = usable
            }
            response.results.append(result)
        }
        return response
    }

    static func diskSpace(_ path: String) -> (Int64, Int64) {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return (-1, -1) }
        return (Int64(s.f_blocks) * Int64(s.f_frsize), Int64(s.f_bavail) * Int64(s.f_frsize))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
