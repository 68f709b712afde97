import Foundation
import TerminalUI

/// Which column a pane is sorted by (nil: the presenter's own order).
public struct SortSpec: Equatable, Hashable, Sendable {
    public var column: Int
    public var descending: Bool
    public init(column: Int, descending: Bool) { self.column = column; self.descending = descending }
}

/// Sorting any pane by any column, on the text the cells show: numbers with units
/// ("12.3k", "1.5 KiB", "4m12s", ">30s", "7d") compare as numbers, "-" and empty cells go
/// last in either direction, other text compares naturally ("p-9" before "p-10").
public enum TableSort {
    enum Value: Comparable {
        case number(Double)
        case text(String)
        static func < (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.number(let x), .number(let y)): return x < y
            case (.number, .text): return true
            case (.text, .number): return false
            case (.text(let x), .text(let y)): return x.localizedStandardCompare(y) == .orderedAscending
            }
        }
    }

    static let byteUnits: [String: Double] = ["B": 1, "KiB": 1024, "MiB": 1_048_576, "GiB": 1_073_741_824, "TiB": 1_099_511_627_776, "PiB": 1_125_899_906_842_624]
    static let countUnits: [Character: Double] = ["k": 1e3, "M": 1e6, "G": 1e9]
    static let timeUnits: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]

    /// The sort value of a cell; nil for "-" / empty (no value).
    static func value(_ cell: String) -> Value? {
        var s = cell.trimmingCharacters(in: .whitespaces)
        if s.isEmpty || s == "-" || s == "?" { return nil }
        if s.hasPrefix(">") || s.hasPrefix("<") { s.removeFirst() }
        if let d = Double(s) { return .number(d) }
        if s == "forever" { return .number(.infinity) }
        let parts = s.split(separator: " ")
        if parts.count == 2, let d = Double(parts[0]), let u = byteUnits[String(parts[1])] { return .number(d * u) }
        if let u = s.last.flatMap({ countUnits[$0] }), let d = Double(s.dropLast()) { return .number(d * u) }
        if let t = seconds(s) { return .number(t) }
        return .text(cell)
    }

    /// "4m12s", "3h05m", "2d03h", "1.5s" -> seconds; nil for anything else.
    static func seconds(_ s: String) -> Double? {
        var total = 0.0, num = ""
        for ch in s {
            if ch.isNumber || ch == "." { num.append(ch); continue }
            guard let u = timeUnits[ch], let d = Double(num) else { return nil }
            total += d * u; num = ""
        }
        return num.isEmpty && !s.isEmpty ? total : nil
    }

    /// `table` with its rows (and their keys and details) in the order of `spec`, and the
    /// header of the sorted column marked with the direction.
    public static func sorted(_ table: PaneTable, by spec: SortSpec, glyphs: Glyphs) -> PaneTable {
        guard spec.column >= 0, spec.column < table.columns.count else { return table }
        let values = (0..<table.rowCount).map { i -> Value? in
            let cells = table.row(i).cells
            return spec.column < cells.count ? value(cells[spec.column]) : nil
        }
        let order = Array(0..<table.rowCount).sorted { a, b in
            switch (values[a], values[b]) {
            case (nil, nil): return a < b
            case (nil, _): return false
            case (_, nil): return true
            case (let x?, let y?):
                if x == y { return a < b }
                return spec.descending ? y < x : x < y
            }
        }
        var out = table
        out.columns[spec.column].title += spec.descending ? glyphs.arrowDown : glyphs.arrowUp
        let row = table.row, key = table.key, detail = table.detail
        out.row = { row(order[$0]) }
        out.key = { key(order[$0]) }
        out.detail = { detail(order[$0]) }
        return out
    }
}
