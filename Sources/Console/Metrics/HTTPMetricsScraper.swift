import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A broker's metrics endpoint as given to `--metrics`: `http://host:port[/path]`
/// (path default `/metrics`).
public struct MetricsEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String = "/metrics") { self.host = host; self.port = port; self.path = path }

    /// Parses one endpoint; a bad one is a one-line error naming it.
    public init(parsing text: String) throws(SourceError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("http://") else { throw SourceError("--metrics \(t): expected http://host:port") }
        let rest = t.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        let host: Substring, portText: Substring
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            portText = hostPort[hostPort.index(after: close)...].dropFirst()
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            throw SourceError("--metrics \(t): missing port")
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            throw SourceError("--metrics \(t): expected http://host:port with a port 1-65535")
        }
        self.init(host: String(host), port: port, path: path.isEmpty ? "/metrics" : String(path))
    }

    /// `--metrics a,b,c`.
    public static func parseList(_ text: String) throws(SourceError) -> [MetricsEndpoint] {
        var out: [MetricsEndpoint] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(try MetricsEndpoint(parsing: String(item)))
        }
        return out
    }

    public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}

/// Scrapes metrics endpoints over HTTP/1.1 (NIOHTTP1), each with its own timeout, so one
/// dead broker fails alone and never holds up the sample.
public struct HTTPMetricsScraper: Sendable {
    public var endpoints: [MetricsEndpoint]
    public var timeout: Duration

    public init(endpoints: [MetricsEndpoint], timeout: Duration = .seconds(3)) { self.endpoints = endpoints; self.timeout = timeout }

    public func scrapeAll() async -> [BrokerMetricsScrapeResult] {
        await withTaskGroup(of: (Int, BrokerMetricsScrapeResult).self) { group in
            for (i, e) in endpoints.enumerated() {
                group.addTask {
                    do {
                        let text = try await Self.get(e, timeout: timeout)
                        return (i, .init(endpoint: e.description, result: .success(try BrokerMetricsReading.parse(text, endpoint: e.description))))
                    } catch {
                        return (i, .init(endpoint: e.description, result: .failure(SourceError(error))))
                    }
                }
            }
            var out: [(Int, BrokerMetricsScrapeResult)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// GET the endpoint; the body when the status is 200, else an error with the status line.
    static func get(_ e: MetricsEndpoint, timeout: Duration) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await exchange(e) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SourceError("\(e): no answer within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private static func exchange(_ e: MetricsEndpoint) async throws -> String {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(host: e.host, port: e.port) { channel in
                    channel.pipeline.addHTTPClientHandlers().flatMapThrowing {
                        try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SourceError("\(e): cannot connect (\(error))")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: e.path)
            head.headers.add(name: "Host", value: "\(e.host):\(e.port)")
            head.headers.add(name: "Accept", value: "text/plain")
            head.headers.add(name: "Connection", value: "close")
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status: HTTPResponseStatus?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h): status = h.status
                case .body(var b): body.writeBuffer(&b)
                case .end:
                    let text = String(buffer: body)
                    guard status == .ok else {
                        let reason = text.split(separator: "\n").first.map(String.init) ?? ""
                        throw SourceError("\(e): HTTP \(status?.code ?? 0)" + (reason.isEmpty ? "" : ": \(reason)"))
                    }
                    return text
                }
            }
            throw SourceError("\(e): connection closed before the response ended")
        }
    }
}

/// A data source plus the brokers' metrics endpoints: every call is the wrapped source's,
/// and each sample also scrapes the endpoints (`samsa console --metrics`).
public struct MetricsScrapingSource: ClusterDataSource {
    public let base: any ClusterDataSource
    public let scraper: HTTPMetricsScraper

    public init(base: any ClusterDataSource, endpoints: [MetricsEndpoint]) {
        self.base = base
        self.scraper = HTTPMetricsScraper(endpoints: endpoints)
    }

    public var displayName: String { base.displayName }
    public func fetchMetadata() async throws -> ClusterMetadata { try await base.fetchMetadata() }
    public func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets] {
        try await base.fetchOffsets(partitions, metadata: metadata)
    }
    public func fetchLogDirs(brokers: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>] { await base.fetchLogDirs(brokers: brokers) }
    public func fetchGroups() async throws -> [GroupDescription] { try await base.fetchGroups() }
    public func fetchCommittedOffsets(groups: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]] {
        try await base.fetchCommittedOffsets(groups: groups)
    }
    public func fetchTopicConfigs(_ topics: [String]) async throws -> [String: [String: String]] { try await base.fetchTopicConfigs(topics) }
    public func fetchBrokerMetrics() async -> [BrokerMetricsScrapeResult] { await scraper.scrapeAll() }
}
