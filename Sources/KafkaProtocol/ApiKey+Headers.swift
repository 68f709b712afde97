/// Header version selection, as Kafka's `ApiMessageType.requestHeaderVersion` and
/// `responseHeaderVersion` do it.
///
/// Flexible API versions use request header v2 (ClientId plus a tagged-field section) and
/// response header v1 (with a tagged-field section); older versions use request header v1 and
/// response header v0. Two exceptions:
/// * ControlledShutdown v0 predates ClientId and uses request header v0.
/// * ApiVersions responses always use response header v0, because a client that sent a version
///   the broker does not know must still be able to read the error in the answer.
///
/// The rule is applied to any version, valid or not, so a broker can parse the header of a
/// request whose version it does not support and answer it with UNSUPPORTED_VERSION.
extension ApiKey {
    public func requestHeaderVersion(apiVersion: Int16) -> Int16 {
        if self == .controlledShutdown && apiVersion == 0 { return 0 }
        return isFlexible(requestType.flexibleVersionsStart, apiVersion) ? 2 : 1
    }

    public func responseHeaderVersion(apiVersion: Int16) -> Int16 {
        if self == .apiVersions { return 0 }
        return isFlexible(responseType.flexibleVersionsStart, apiVersion) ? 1 : 0
    }

    /// The versions this codec can encode and decode for the API.
    public var supportedVersions: ClosedRange<Int16> { requestType.validVersions }

    private func isFlexible(_ start: Int16?, _ version: Int16) -> Bool {
        guard let start else { return false }
        return version >= start
    }
}
