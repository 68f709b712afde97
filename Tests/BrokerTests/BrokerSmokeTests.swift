import XCTest
@testable import Broker

final class BrokerSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(BrokerModule.self) }
}
