import Foundation
import Logging
import XCTest
@testable import SamsaLogging

final class FileLogHandlerTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-logging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty }
    }

    /// `<timestamp> <level> <label>: [metadata] [source] message`
    private let linePattern = try! NSRegularExpression(
        pattern: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} (trace|debug|info|notice|warning|error|critical) [^ ]+:( [^\[]*)? \[[^\]]+\] .*$"#)

    private func isLevelPrefixed(_ line: String) -> Bool {
        linePattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil
    }

    func testLinesCarryLevelLabelMetadataAndNoControlCharacters() throws {
        let path = dir.appendingPathComponent("sub/dir/broker.log").path  // parents are created
        var logger = Logger(label: "samsa.broker", factory: try FileLogHandler.makeFactory(path: path, level: .debug))
        logger[metadataKey: "node"] = "3"
        logger.debug("hello", metadata: ["client": "c1"])
        logger.trace("below the level")
        logger.warning("two\nlines and \u{1B}[31mred\u{1B}[0m")
        let got = try lines(path)
        XCTAssertEqual(got.count, 2, "\(got)")
        XCTAssertTrue(got.allSatisfy(isLevelPrefixed), "\(got)")
        XCTAssertTrue(got[0].contains(" debug samsa.broker: client=c1 node=3 [SamsaLoggingTests] hello"), got[0])
        XCTAssertTrue(got[1].contains(" warning samsa.broker: node=3 "), got[1])
        XCTAssertTrue(got[1].hasSuffix(#"two\nlines and \u{1B}[31mred\u{1B}[0m"#), got[1])
        XCTAssertFalse(try String(contentsOfFile: path, encoding: .utf8).contains("\u{1B}"))
    }

    func testAppendsToAnExistingFile() throws {
        let path = dir.appendingPathComponent("a.log").path
        try "earlier line\n".write(toFile: path, atomically: true, encoding: .utf8)
        let logger = Logger(label: "t", factory: try FileLogHandler.makeFactory(path: path))
        logger.info("later line")
        let got = try lines(path)
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got[0], "earlier line")
        XCTAssertTrue(got[1].hasSuffix("later line"))
    }

    /// logrotate's rename + SIGHUP: lines before the reopen stay in the renamed file, lines after
    /// it go to a new file at the path.
    func testReopenAfterRenameWritesToANewFile() throws {
        let path = dir.appendingPathComponent("broker.log").path
        let rotated = dir.appendingPathComponent("broker.log.1").path
        let destination = try LogDestination(path: path)
        let logger = Logger(label: "t", factory: FileLogHandler.factory(destination: destination))
        logger.info("before rotation")
        try FileManager.default.moveItem(atPath: path, toPath: rotated)
        logger.info("after rename, before reopen")  // still the open (renamed) file
        XCTAssertTrue(try destination.reopen())
        logger.info("after reopen")
        XCTAssertEqual(try lines(rotated).map { $0.components(separatedBy: "] ").last! },
                       ["before rotation", "after rename, before reopen"])
        XCTAssertEqual(try lines(path).map { $0.components(separatedBy: "] ").last! }, ["after reopen"])
    }

    func testReopenFailureKeepsTheCurrentFile() throws {
        let sub = dir.appendingPathComponent("gone")
        let path = sub.appendingPathComponent("broker.log").path
        let destination = try LogDestination(path: path)
        let moved = dir.appendingPathComponent("moved.log").path
        try FileManager.default.moveItem(atPath: path, toPath: moved)
        // The directory becomes a file: the path cannot be opened again.
        try FileManager.default.removeItem(at: sub)
        try "x".write(to: sub, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try destination.reopen())
        destination.write("still here\n")
        XCTAssertEqual(try lines(moved), ["still here"])
    }

    func testStandardErrorIsNotReopened() throws {
        XCTAssertNil(LogDestination.standardError.path)
        XCTAssertFalse(try LogDestination.standardError.reopen())
    }

    func testUnwritablePathThrows() throws {
        let file = dir.appendingPathComponent("plain")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LogDestination(path: file.appendingPathComponent("x.log").path)) { error in
            XCTAssertTrue("\(error)".contains("cannot open log file"), "\(error)")
        }
    }

    /// Many threads writing while the file is reopened again and again: every line is whole
    /// (level-prefixed, its own payload), none lost, none split across the two files.
    func testConcurrentWritersAndReopensNeverInterleave() throws {
        let path = dir.appendingPathComponent("c.log").path
        let destination = try LogDestination(path: path)
        let logger = Logger(label: "samsa.broker", factory: FileLogHandler.factory(destination: destination))
        let threads = 8, perThread = 500
        let payload = String(repeating: "x", count: 300)
        let rotatedPaths = (0..<20).map { path + ".\($0)" }
        DispatchQueue.concurrentPerform(iterations: threads + 1) { t in
            if t == threads {
                for rotated in rotatedPaths {
                    try? FileManager.default.moveItem(atPath: path, toPath: rotated)
                    _ = try? destination.reopen()
                    usleep(500)
                }
                return
            }
            for i in 0..<perThread { logger.info("t=\(t) i=\(i) \(payload)") }
        }
        var all: [String] = []
        for p in rotatedPaths + [path] where FileManager.default.fileExists(atPath: p) { all += try lines(p) }
        XCTAssertEqual(all.count, threads * perThread)
        XCTAssertTrue(all.allSatisfy { isLevelPrefixed($0) && $0.hasSuffix(payload) })
        XCTAssertEqual(Set(all.map { $0.components(separatedBy: "] ").last! }).count, threads * perThread)
    }

    func testEscaping() {
        XCTAssertEqual(FileLogHandler.escapingControlCharacters("plain\ttext é"), "plain\ttext é")
        XCTAssertEqual(FileLogHandler.escapingControlCharacters("a\r\nb\u{7F}\u{9B}"), #"a\r\nb\u{7F}\u{9B}"#)
    }
}
