import KafkaProtocol
import Logging
import NIOCore

/// The table of request handlers, keyed by api key, and the dispatcher that runs a frame
/// through it.
///
/// `register` erases a typed ``RequestHandler`` into a closure that decodes the body with
/// `Request(from:version:)`, calls `handle`, and encodes the response with the response header
/// version `ApiKey.responseHeaderVersion` picks (v0 always for ApiVersions).
/// ``registerApiVersions()`` must come last: it advertises exactly what was registered.
///
/// Rules from Kafka's `SocketServer`/`KafkaApis` it applies before any handler runs:
/// * an unknown api key, or a version outside the registered range, closes the connection
///   with a log line -- except ApiVersions, which is answered at any version (an unsupported
///   one gets a v0 body with UNSUPPORTED_VERSION and only the ApiVersions entry);
/// * a header or body that does not parse closes the connection;
/// * a handler returning nil (acks=0) sends nothing; one throwing ``CloseConnection`` closes.
///
/// A value type built once at start-up, then shared read-only; `Sendable`.
public struct HandlerRegistry: RequestDispatcher {
    typealias Invoke = @Sendable (_ body: ByteBuffer, _ context: RequestContext) async throws -> ByteBuffer?

    struct Entry: Sendable {
        var versions: ClosedRange<Int16>
        var invoke: Invoke
    }

    private(set) var entries: [Int16: Entry] = [:]
    public var logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds (or replaces) the handler for `H.Request.apiKey`.
    public mutating func register<H: RequestHandler>(_ handler: H) {
        entries[H.Request.apiKey.rawValue] = Entry(versions: H.versions) { body, context in
            var body = body
            let request = try H.Request(from: &body, version: context.apiVersion)
            guard let response = try await handler.handle(request, context: context) else { return nil }
            if let timing = RequestTiming.current { H.countErrors(response, into: timing) }
            return try response.encodeFrame(version: context.apiVersion, correlationId: context.correlationId)
        }
    }

    /// The advertised version table: every registered key, ApiVersions included, by key.
    public var advertisedVersions: [ApiVersionsResponse.ApiVersion] {
        entries.keys.sorted().map { key in
            ApiVersionsResponse.ApiVersion(apiKey: key, minVersion: entries[key]!.versions.lowerBound,
                                           maxVersion: entries[key]!.versions.upperBound)
        }
    }

    /// Registers the ApiVersions handler over the table as it stands (call after every other).
    public mutating func registerApiVersions() {
        var table = advertisedVersions.filter { $0.apiKey != ApiKey.apiVersions.rawValue }
        table.append(.init(apiKey: ApiKey.apiVersions.rawValue, minVersion: ApiVersionsHandler.versions.lowerBound,
                           maxVersion: ApiVersionsHandler.versions.upperBound))
        table.sort { $0.apiKey < $1.apiKey }
        register(ApiVersionsHandler(apiKeys: table))
    }

    /// Versions registered for `key`, if any.
    public func versions(for key: ApiKey) -> ClosedRange<Int16>? { entries[key.rawValue]?.versions }

    public func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
        guard let rawKey = frame.getInteger(at: frame.readerIndex, as: Int16.self),
              let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self),
              let correlationId = frame.getInteger(at: frame.readerIndex + 4, as: Int32.self) else {
            return .close(reason: "truncated request header (\(frame.readableBytes) bytes)")
        }
        guard let entry = entries[rawKey] else {
            return .close(reason: "unknown api key \(rawKey) (version \(version), correlation id \(correlationId))")
        }
        if !entry.versions.contains(version) {
            if rawKey == ApiKey.apiVersions.rawValue {
                return unsupportedApiVersions(correlationId: correlationId)
            }
            let name = ApiKey(rawValue: rawKey).map { "\($0)" } ?? "\(rawKey)"
            return .close(reason: "unsupported version \(version) of \(name) (supported \(entry.versions.lowerBound)-\(entry.versions.upperBound))")
        }
        var buffer = frame
        let header: RequestHeader
        do {
            header = try RequestHeader.decode(from: &buffer)
        } catch {
            return .close(reason: "malformed request header: \(error)")
        }
        var context = RequestContext(apiVersion: version, correlationId: correlationId, clientId: header.clientId,
                                     clientHost: connection.clientHost, connectionId: connection.connectionId,
                                     listenerName: connection.listenerName, principal: connection.principal)
        context.forwarded = connection.forwarded
        do {
            guard let response = try await entry.invoke(buffer, context) else { return .noResponse }
            return .respond(response)
        } catch let error as CloseConnection {
            return .close(reason: error.reason)
        } catch let error as ProtocolError {
            let name = ApiKey(rawValue: rawKey).map { "\($0)" } ?? "\(rawKey)"
            return .close(reason: "malformed \(name) v\(version) request (correlation id \(correlationId)): \(error)")
        } catch {
            logger.error("Handler for api key \(rawKey) v\(version) failed: \(error)")
            return .close(reason: "internal error handling api key \(rawKey): \(error)")
        }
    }

    /// KIP-511: a v0 body (with header v0) carrying UNSUPPORTED_VERSION and only our
    /// ApiVersions range, so the client can retry at a version we know.
    private func unsupportedApiVersions(correlationId: Int32) -> DispatchOutcome {
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.unsupportedVersion.rawValue
        response.apiKeys = [.init(apiKey: ApiKey.apiVersions.rawValue, minVersion: ApiVersionsHandler.versions.lowerBound,
                                  maxVersion: ApiVersionsHandler.versions.upperBound)]
        do {
            return .respond(try response.encodeFrame(version: 0, correlationId: correlationId))
        } catch {
            return .close(reason: "could not encode ApiVersions error: \(error)")
        }
    }
}
