import TerminalUI

/// What a presenter hands to a screen: columns and a lazily built, already filtered list
/// of rows, each with the key used to drill down. Pure data; building it does no I/O.
public struct PaneTable {
    public var title: String
    public var columns: [TableColumn]
    public var rowCount: Int
    public var row: (Int) -> TableRow
    /// The drill-down key of a row (topic name, group id, broker id, offset).
    public var key: (Int) -> String
    /// A one-line explanation of the selected row (a verdict's reason, a broker's error).
    public var detail: (Int) -> String?
    public var emptyMessage: String
    /// Shown after the title and row count ("Brokers [3] · quorum leader 2 ..."), if any.
    public var subtitle: String? = nil

    public init(title: String, columns: [TableColumn], rowCount: Int, emptyMessage: String = "nothing to show",
                row: @escaping (Int) -> TableRow, key: @escaping (Int) -> String, detail: @escaping (Int) -> String? = { _ in nil }) {
        self.title = title; self.columns = columns; self.rowCount = rowCount; self.row = row; self.key = key
        self.detail = detail; self.emptyMessage = emptyMessage
    }

    /// All rows as plain text lines (header first), for `--once --output text`.
    public func textLines(width: Int = 120) -> [String] {
        // Sized to content: a 6-wide STATUS column cut "COLLECTING" to "COLLE~".
        let widths = TableView.layout(columns, width: width,
                                      content: TableView.contentWidths(columns: columns, rowCount: rowCount, limit: .max, row: row))
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, c) in columns.enumerated() where widths[i] > 0 {
                parts.append(TextWidth.fit(i < cells.count ? cells[i] : "", to: widths[i], alignRight: c.alignRight, ellipsis: "~"))
            }
            var s = parts.joined(separator: " ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        return [line(columns.map(\.title))] + (0..<rowCount).map { line(row($0).cells) }
    }
}
