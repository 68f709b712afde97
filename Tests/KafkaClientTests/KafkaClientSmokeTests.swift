import XCTest
@testable import KafkaClient

final class KafkaClientSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(KafkaClientModule.self) }
}
