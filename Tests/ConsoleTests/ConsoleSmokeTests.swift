import XCTest
@testable import Console

final class ConsoleSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(ConsoleModule.self) }
}
