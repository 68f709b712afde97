import Foundation

/// Pretty-printing that never changes what a value says. The detail view used to decode
/// JSON and encode it again, so `"/p/11"` came back as `"\/p\/11"`, `1.10` as `1.1`, big
/// integers as doubles and keys re-sorted. This re-indents the original text instead:
/// strings, numbers and literals are copied token by token, only whitespace between
/// tokens is replaced.
public enum JSONText {
    /// The text re-indented, or nil when it is not a JSON object or array (then the caller
    /// shows the bytes as they are). JSONSerialization is used only to check validity;
    /// nothing it decodes is shown.
    public static func pretty(_ bytes: [UInt8], indent: Int = 2) -> String? {
        guard let first = bytes.first(where: { !isSpace($0) }), first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
              String(validating: bytes, as: UTF8.self) != nil,
              (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        var depth = 0
        var inString = false, escaped = false
        func newline() {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * indent))
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            defer { i += 1 }
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                out.append(b)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                out.append(b)
                // Empty containers stay on one line: {} and [].
                var j = i + 1
                while j < bytes.count, isSpace(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == (b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    out.append(bytes[j]); i = j
                } else {
                    depth += 1; newline()
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth = max(0, depth - 1)
                newline()
                out.append(b)
            case UInt8(ascii: ","):
                out.append(b); newline()
            case UInt8(ascii: ":"):
                out.append(b); out.append(UInt8(ascii: " "))
            case _ where isSpace(b):
                break
            default:
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// A hex dump in the `xxd`/`hexdump -C` layout: offset, `perLine` bytes in hex, and the
    /// printable ASCII (others as '.').
    public static func hexDump(_ bytes: [UInt8], perLine: Int = 16) -> [String] {
        guard !bytes.isEmpty else { return ["(0 bytes)"] }
        var lines: [String] = []
        var offset = 0
        while offset < bytes.count {
            let chunk = bytes[offset..<min(bytes.count, offset + perLine)]
            var hex = ""
            for (k, b) in chunk.enumerated() {
                if k > 0 { hex += k == perLine / 2 ? "  " : " " }
                hex += String(format: "%02x", b)
            }
            let hexWidth = perLine * 3 - 1 + 1
            hex += String(repeating: " ", count: max(0, hexWidth - hex.count))
            let ascii = String(chunk.map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "." })
            lines.append(String(format: "%08x", offset) + "  " + hex + " |" + ascii + "|")
            offset += perLine
        }
        return lines
    }
}
