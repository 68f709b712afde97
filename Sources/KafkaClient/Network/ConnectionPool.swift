import NIOCore
import NIOPosix

/// Keeps at most one live connection per broker and reconnects with exponential backoff.
///
/// Concurrent callers asking for the same broker share one connection attempt. After a failed
/// attempt the next one waits `reconnect.backoff.ms`, doubling per consecutive failure up to
/// `reconnect.backoff.max.ms` with ±20% jitter (Kafka's `ClusterConnectionStates`), so a down
/// broker is not hammered while the rest of the cluster is used normally.
///
/// Concurrency: an actor.
actor ConnectionPool {
    private struct Entry {
        var connection: BrokerConnection?
        var connecting: Task<BrokerConnection, Error>?
        var failures = 0
        var nextAttempt: ContinuousClock.Instant?
    }

    private let config: ClientConfig
    private let group: EventLoopGroup
    private var entries: [BrokerAddress: Entry] = [:]
    private var closed = false

    init(config: ClientConfig, group: EventLoopGroup) {
        self.config = config
        self.group = group
    }

    /// A live connection to `address`, connecting (after any backoff) if needed.
    func connection(to address: BrokerAddress, nodeId: Int32) async throws -> BrokerConnection {
        if closed { throw KafkaClientError.closed }
        var entry = entries[address] ?? Entry()
        if let existing = entry.connection, existing.isActive { return existing }
        if let pending = entry.connecting { return try await pending.value }
        let wait = entry.nextAttempt.map { max(.zero, $0 - ContinuousClock.now) } ?? .zero
        let config = self.config, group = self.group
        let task = Task<BrokerConnection, Error> {
            if wait > .zero { try await Task.sleep(for: wait) }
            return try await BrokerConnection.connect(to: address, nodeId: nodeId, config: config, group: group)
        }
        entry.connection = nil
        entry.connecting = task
        entries[address] = entry
        do {
            let connection = try await task.value
            entries[address] = Entry(connection: connection)
            if closed { connection.close() }
            return connection
        } catch {
            var failed = entries[address] ?? Entry()
            failed.connecting = nil
            failed.failures += 1
            failed.nextAttempt = ContinuousClock.now + backoff(failures: failed.failures)
            entries[address] = failed
            throw error
        }
    }

    /// Drops a connection that failed (e.g. timed out) so the next call reconnects.
    func invalidate(_ connection: BrokerConnection) {
        connection.close()
        if entries[connection.address]?.connection === connection {
            entries[connection.address]?.connection = nil
        }
    }

    /// Whether `address` is currently backing off after failures.
    func isBackingOff(_ address: BrokerAddress) -> Bool {
        guard let next = entries[address]?.nextAttempt else { return false }
        return next > ContinuousClock.now
    }

    func closeAll() {
        closed = true
        for entry in entries.values {
            entry.connection?.close()
            entry.connecting?.cancel()
        }
        entries.removeAll()
    }

    private func backoff(failures: Int) -> Duration {
        let base = Double(config.reconnectBackoff.milliseconds)
        let cap = Double(config.reconnectBackoffMax.milliseconds)
        let exp = min(cap, base * pow2(failures - 1))
        let jittered = exp * Double.random(in: 0.8...1.2)
        return .milliseconds(Int64(max(0, min(jittered, cap * 1.2))))
    }

    private func pow2(_ n: Int) -> Double { n <= 0 ? 1 : Double(1 << min(n, 30)) }
}
