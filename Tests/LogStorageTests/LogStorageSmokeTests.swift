import XCTest
@testable import LogStorage

final class LogStorageSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(LogStorageModule.self) }
}
