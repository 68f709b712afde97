import Foundation

/// An inclusive version range from a spec: `"3+"`, `"1-4"`, `"2"` or `"none"`.
///
/// `upper` is nil for open ranges. `isEmpty` covers `"none"`.
struct VersionRange: Equatable {
    var lower: Int
    var upper: Int?
    var isEmpty: Bool { if let upper { return upper < lower } else { return false } }

    static let none = VersionRange(lower: 1, upper: 0)
    static let all = VersionRange(lower: 0, upper: nil)

    init(lower: Int, upper: Int?) {
        self.lower = lower
        self.upper = upper
    }

    init(parsing text: String, context: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" {
            self = .none
        } else if trimmed.hasSuffix("+"), let lower = Int(trimmed.dropLast()) {
            self.init(lower: lower, upper: nil)
        } else if let dash = trimmed.firstIndex(of: "-"),
                  let lower = Int(trimmed[..<dash]), let upper = Int(trimmed[trimmed.index(after: dash)...]) {
            self.init(lower: lower, upper: upper)
        } else if let single = Int(trimmed) {
            self.init(lower: single, upper: single)
        } else {
            throw GeneratorError("\(context): cannot parse version range \"\(text)\"")
        }
    }

    func contains(_ version: Int) -> Bool {
        if isEmpty { return false }
        if version < lower { return false }
        if let upper, version > upper { return false }
        return true
    }

    func intersection(_ other: VersionRange) -> VersionRange {
        if isEmpty || other.isEmpty { return .none }
        let lower = max(self.lower, other.lower)
        let upper: Int?
        switch (self.upper, other.upper) {
        case let (a?, b?): upper = min(a, b)
        case let (a?, nil): upper = a
        case let (nil, b?): upper = b
        case (nil, nil): upper = nil
        }
        let result = VersionRange(lower: lower, upper: upper)
        return result.isEmpty ? .none : result
    }

    /// The spec's notation, for doc comments.
    var text: String {
        if isEmpty { return "none" }
        guard let upper else { return "\(lower)+" }
        return upper == lower ? "\(lower)" : "\(lower)-\(upper)"
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A primitive or composite field type of the spec language.
indirect enum FieldType: Equatable {
    case bool, int8, int16, int32, int64, uint16, uint32, float64, string, bytes, uuid, records
    case array(FieldType)
    case structure(String)

    init(parsing text: String) {
        if text.hasPrefix("[]") {
            self = .array(FieldType(parsing: String(text.dropFirst(2))))
            return
        }
        switch text {
        case "bool": self = .bool
        case "int8": self = .int8
        case "int16": self = .int16
        case "int32": self = .int32
        case "int64": self = .int64
        case "uint16": self = .uint16
        case "uint32": self = .uint32
        case "float64": self = .float64
        case "string": self = .string
        case "bytes": self = .bytes
        case "uuid": self = .uuid
        case "records": self = .records
        default: self = .structure(text)
        }
    }

    var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint16, .uint32: return true
        default: return false
        }
    }
}

/// One field of a struct, as the spec declares it.
struct FieldSpec {
    var name: String
    var type: FieldType
    var versions: VersionRange
    var nullableVersions: VersionRange
    var taggedVersions: VersionRange
    var tag: Int?
    var ignorable: Bool
    var defaultValue: String?
    var about: String?
    var mapKey: Bool
    var entityType: String?
    /// A field-level override of the message's flexible versions (RequestHeader's ClientId).
    var flexibleVersions: VersionRange?
    /// Inline struct definition, when this field declares one.
    var fields: [FieldSpec]?

    init(json: [String: Any], context: String) throws {
        guard let name = json["name"] as? String, let typeText = json["type"] as? String else {
            throw GeneratorError("\(context): field without name or type")
        }
        let here = "\(context).\(name)"
        self.name = name
        self.type = FieldType(parsing: typeText)
        guard let versionsText = json["versions"] as? String else {
            throw GeneratorError("\(here): no versions")
        }
        self.versions = try VersionRange(parsing: versionsText, context: here)
        if let text = json["nullableVersions"] as? String {
            self.nullableVersions = try VersionRange(parsing: text, context: here)
        } else {
            self.nullableVersions = .none
        }
        if let text = json["taggedVersions"] as? String {
            self.taggedVersions = try VersionRange(parsing: text, context: here)
        } else {
            self.taggedVersions = .none
        }
        // Kafka's generator reads tags through Jackson, which accepts a quoted number too
        // (RegisterBrokerRecord's LogDirs says `"tag": "0"`).
        if let number = json["tag"] as? Int {
            self.tag = number
        } else if let text = json["tag"] as? String {
            guard let number = Int(text) else { throw GeneratorError("\(here): bad tag \"\(text)\"") }
            self.tag = number
        } else {
            self.tag = nil
        }
        if tag != nil && taggedVersions.isEmpty {
            throw GeneratorError("\(here): tag without taggedVersions")
        }
        if tag != nil && taggedVersions.upper != nil {
            throw GeneratorError("\(here): taggedVersions must be open-ended")
        }
        self.ignorable = json["ignorable"] as? Bool ?? false
        if let text = json["default"] as? String {
            self.defaultValue = text
        } else if let number = json["default"] as? NSNumber {
            self.defaultValue = number.stringValue
        }
        self.about = json["about"] as? String
        self.mapKey = json["mapKey"] as? Bool ?? false
        self.entityType = json["entityType"] as? String
        if let text = json["flexibleVersions"] as? String {
            self.flexibleVersions = try VersionRange(parsing: text, context: here)
        }
        if let children = json["fields"] as? [[String: Any]] {
            self.fields = try children.map { try FieldSpec(json: $0, context: here) }
        }
    }

    /// Versions in which the field is written in the fixed part of the struct (not tagged).
    var regularVersions: VersionRange {
        guard tag != nil else { return versions }
        // taggedVersions is open-ended, so the regular part is what lies below its start.
        return versions.intersection(VersionRange(lower: 0, upper: taggedVersions.lower - 1))
    }

    var taggedInVersions: VersionRange {
        tag == nil ? .none : versions.intersection(taggedVersions)
    }
}

/// A named struct: the message itself, an inline struct, or a common struct.
struct StructSpec {
    var name: String
    var fields: [FieldSpec]
}

/// One JSON spec file.
struct MessageSpec {
    var fileName: String
    var name: String
    /// "request", "response", "header", "data" or "metadata" (a record of `__cluster_metadata`).
    var kind: String
    var apiKey: Int?
    var validVersions: VersionRange
    var flexibleVersions: VersionRange
    var fields: [FieldSpec]
    var commonStructs: [StructSpec]
    var latestVersionUnstable: Bool
    /// The `//` comment block at the top of the object (the version history), one line each.
    var headerComment: [String]

    init(fileName: String, text: String) throws {
        self.fileName = fileName
        let stripped = try stripComments(text, context: fileName)
        guard let data = stripped.data(using: .utf8),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GeneratorError("\(fileName): not a JSON object")
        }
        guard let name = json["name"] as? String, let kind = json["type"] as? String,
              let valid = json["validVersions"] as? String else {
            throw GeneratorError("\(fileName): missing name, type or validVersions")
        }
        self.name = name
        self.kind = kind
        self.apiKey = json["apiKey"] as? Int
        self.validVersions = try VersionRange(parsing: valid, context: fileName)
        if validVersions.isEmpty || validVersions.upper == nil {
            throw GeneratorError("\(fileName): validVersions must be a closed, non-empty range")
        }
        self.flexibleVersions = try VersionRange(parsing: json["flexibleVersions"] as? String ?? "none", context: fileName)
        self.fields = try (json["fields"] as? [[String: Any]] ?? []).map { try FieldSpec(json: $0, context: name) }
        self.commonStructs = try (json["commonStructs"] as? [[String: Any]] ?? []).map { structJSON in
            guard let structName = structJSON["name"] as? String else {
                throw GeneratorError("\(fileName): common struct without a name")
            }
            let fields = try (structJSON["fields"] as? [[String: Any]] ?? []).map {
                try FieldSpec(json: $0, context: "\(name).\(structName)")
            }
            return StructSpec(name: structName, fields: fields)
        }
        self.latestVersionUnstable = json["latestVersionUnstable"] as? Bool ?? false
        self.headerComment = topComment(text)
    }
}

/// Removes `//` comments that are outside string literals, keeping line structure.
func stripComments(_ text: String, context: String) throws -> String {
    var output: [UInt8] = []
    let bytes = Array(text.utf8)
    output.reserveCapacity(bytes.count)
    var index = 0
    var inString = false
    while index < bytes.count {
        let byte = bytes[index]
        if inString {
            output.append(byte)
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                output.append(bytes[index + 1])
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = false }
            index += 1
            continue
        }
        if byte == UInt8(ascii: "\"") {
            inString = true
            output.append(byte)
            index += 1
            continue
        }
        if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
            while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            continue
        }
        output.append(byte)
        index += 1
    }
    if inString { throw GeneratorError("\(context): unterminated string") }
    return String(decoding: output, as: UTF8.self)
}

/// The comment lines inside the top-level object before `"fields"`: Kafka keeps each
/// message's version history there, which is exactly the "why" a reader of the Swift wants.
func topComment(_ text: String) -> [String] {
    var lines: [String] = []
    var insideObject = false
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = rawLine.trimmingCharacters(in: .whitespaces)
        if !insideObject {
            if line.hasPrefix("{") { insideObject = true }
            continue
        }
        if line.hasPrefix("\"fields\"") { break }
        if line.hasPrefix("//") {
            var comment = String(line.dropFirst(2))
            if comment.hasPrefix(" ") { comment.removeFirst() }
            lines.append(comment)
        }
    }
    while let last = lines.last, last.isEmpty { lines.removeLast() }
    while let first = lines.first, first.isEmpty { lines.removeFirst() }
    return lines
}
