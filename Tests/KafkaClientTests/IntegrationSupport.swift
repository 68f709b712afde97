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
