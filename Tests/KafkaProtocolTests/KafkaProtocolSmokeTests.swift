import XCTest
@testable import KafkaProtocol

final class KafkaProtocolSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(KafkaProtocolModule.self) }
}
