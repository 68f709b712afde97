import Foundation

/// Results posted by background tasks (actions, the message tail) for the UI loop, which
/// drains it every iteration. Thread-safe; posting never blocks on the UI.
public final class EventInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ConsoleEvent] = []
    public init() {}
    public func post(_ e: ConsoleEvent) { lock.withLock { events.append(e) } }
    public func drain() -> [ConsoleEvent] {
        lock.withLock { defer { events.removeAll() }; return events }
    }
}

/// Local broker processes the console may stop, start and restart (the demo's cluster).
public protocol BrokerControl: Sendable {
    /// The brokers the manager runs, so a stopped one still shows (as down).
    func expectedBrokers() async -> [BrokerEndpoint]
    /// Ids of the brokers whose processes are running now; the others show as down.
    func runningBrokers() async -> Set<Int32>
    func perform(_ op: BrokerOperation, brokerId: Int32) async throws
    /// Why a stopped broker is not running, when known ("exited with status 137 ...").
    func stoppedReasons() async -> [Int32: String]
}

extension BrokerControl {
    public func stoppedReasons() async -> [Int32: String] { [:] }
}
