import XCTest
@testable import KafkaClient

/// Integration tests run against the broker named by `SAMSA_TEST_BOOTSTRAP` (host:port);
/// `.ci/run` starts Tansu and the Samsa broker and sets it. Without it they are skipped.
func integrationBootstrap() throws -> String {
    guard let value = ProcessInfo.processInfo.environment["SAMSA_TEST_BOOTSTRAP"], !value.isEmpty else {
        throw XCTSkip("set SAMSA_TEST_BOOTSTRAP=host:port to run broker integration tests")
    }
    return value
}

/// A topic name no other test run uses.
func uniqueTopicName(_ prefix: String) -> String {
    "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
}

/// Waits for a child `Process` through its termination handler instead of
/// `Process.waitUntilExit`, which on Linux can park the calling thread forever when it is not
/// the thread that launched the process (a test's async task, under load): it spins a run
/// loop that never sees the exit. Create the waiter before `run()` so a fast exit is not missed.
final class ProcessExitWaiter: @unchecked Sendable {
    private let exited = DispatchSemaphore(value: 0)

    init(_ process: Process) {
        process.terminationHandler = { [exited] _ in exited.signal() }
    }

    /// True once the process has ended; false (after SIGKILL) if it ran past `timeout`.
    @discardableResult
    func wait(for process: Process, timeout: TimeInterval = 120) -> Bool {
        if exited.wait(timeout: .now() + timeout) == .success { return true }
        kill(process.processIdentifier, SIGKILL)
        _ = exited.wait(timeout: .now() + 10)
        return false
    }
}
