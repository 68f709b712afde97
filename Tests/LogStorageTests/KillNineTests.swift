import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

/// The real thing: a child process (`samsa-log-crashtest`) appends in a loop with background
/// flushes and checkpoints, gets SIGKILL at a random moment, and the log is reopened and checked
/// every time; the next child continues the same log. A process crash keeps the page cache, so
/// nothing acknowledged may be lost, and no batch may be corrupt.
final class KillNineTests: XCTestCase {
    func testKillNineDuringAppendsLosesNothingAcknowledged() throws {
        let exe = URL(fileURLWithPath: try resolvedSelf())
            .deletingLastPathComponent().appendingPathComponent("samsa-log-crashtest").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            return XCTFail("\(exe) is missing: build every target first (swift build --build-tests)")
        }
        let dir = TempDir("kill9")
        defer { dir.cleanup() }
        let logDir = dir.path + "/logs"
        let progressPath = dir.path + "/progress"
        let rounds = Int(ProcessInfo.processInfo.environment["SAMSA_KILL9_ROUNDS"] ?? "") ?? 6
        let seed = UInt64(ProcessInfo.processInfo.environment["SAMSA_KILL9_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("kill -9 test seed: \(seed)")
        var rng = SeededRandom(seed: seed)
        var lastEnd: Int64 = 0
        for round in 0..<rounds {
            try? FileManager.default.removeItem(atPath: progressPath)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: exe)
            child.arguments = [logDir, progressPath]
            try child.run()
            // Let it get going (open + recovery + some appends), then kill it at a random moment.
            let deadline = Date().addingTimeInterval(20)
            while Self.progress(progressPath) <= lastEnd + 50 && Date() < deadline && child.isRunning {
                usleep(2000)
            }
            XCTAssertTrue(child.isRunning, "round \(round): the child exited early (status \(child.terminationStatus))")
            usleep(UInt32.random(in: 0...150_000, using: &rng))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal)
            let acknowledged = Self.progress(progressPath)
            XCTAssertGreaterThan(acknowledged, lastEnd, "round \(round): no progress")

            // Reopen exactly as the broker would, and check everything.
            let manager = try LogManager(config: LogManagerConfig(logDirs: [logDir], recoveryThreads: 1))
            XCTAssertEqual(manager.startupSummary.recoveredPartitions, 1)
            let log = try XCTUnwrap(manager.log(topic: "crash", partition: 0))
            XCTAssertGreaterThanOrEqual(log.logEndOffset, acknowledged, "round \(round): acknowledged appends lost")
            XCTAssertEqual(try log.verifyConsistency(), [], "round \(round)")
            var offset = log.logStartOffset
            while offset < log.logEndOffset {
                var bytes = try log.read(from: offset, maxBytes: 1 << 20).readBytes()
                XCTAssertGreaterThan(bytes.readableBytes, 0)
                while bytes.readableBytes > 0 {
                    let batch = try RecordBatch.decode(from: &bytes)
                    XCTAssertEqual(batch.baseOffset, offset, "round \(round): offsets not contiguous")
                    for record in batch.records {
                        let value = String(buffer: record.value!)
                        XCTAssertEqual(value.split(separator: " ").first.map(String.init), String(batch.offset(of: record)))
                    }
                    offset = batch.nextOffset
                }
            }
            lastEnd = log.logEndOffset
            // Half the time shut down cleanly, so the next child also takes the clean path.
            if Bool.random(using: &rng) { try manager.shutdown() }
        }
        print("kill -9 test: \(rounds) kills, log end offset \(lastEnd)")
    }

    private func resolvedSelf() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    private static func progress(_ path: String) -> Int64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return Int64(text.prefix(20)) ?? 0
    }
}
