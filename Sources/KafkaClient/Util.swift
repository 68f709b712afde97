import Foundation

extension Date {
    /// Wall-clock milliseconds since the epoch (record timestamps use this clock).
    static var nowMilliseconds: Double { Date().timeIntervalSince1970 * 1000 }
}
