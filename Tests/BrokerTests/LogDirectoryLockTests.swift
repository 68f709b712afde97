import Foundation
import XCTest
@testable import Broker

final class LogDirectoryLockTests: XCTestCase {
    /// Two brokers on one data directory would interleave appends to the same segment files;
    /// the second one must refuse to start, and the directory must be usable again once the
    /// first one lets go.
    func testSecondOwnerIsRefusedUntilTheFirstReleases() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-lock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try LogDirectoryLock(directories: [dir])
        XCTAssertThrowsError(try LogDirectoryLock(directories: [dir])) { error in
            XCTAssertEqual(error as? LogDirectoryLockError, .inUse(directory: dir))
            XCTAssertTrue("\(error)".contains("in use by another broker process"))
        }
        first.release()
        let second = try LogDirectoryLock(directories: [dir])
        second.release()
    }

    /// A failure on a later directory must not keep the earlier ones locked.
    func testPartialFailureReleasesWhatWasTaken() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("samsa-lock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let a = base + "/a", b = base + "/b"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let holder = try LogDirectoryLock(directories: [b])
        XCTAssertThrowsError(try LogDirectoryLock(directories: [a, b]))
        XCTAssertNoThrow(try LogDirectoryLock(directories: [a]).release())
        holder.release()
    }
}
