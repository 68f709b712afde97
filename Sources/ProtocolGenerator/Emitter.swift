import Foundation

/// Accumulates Swift source with indentation.
struct SourceWriter {
    private(set) var text = ""
    private var indentLevel = 0

    mutating func line(_ content: String = "") {
        if content.isEmpty {
            text += "\n"
        } else {
            text += String(repeating: "    ", count: indentLevel) + content + "\n"
        }
    }

    mutating func indent() { indentLevel += 1 }
    mutating func dedent() { indentLevel -= 1 }

    /// Opens `header {`, runs `body` indented, closes with `}`.
    mutating func block(_ header: String, _ body: (inout SourceWriter) throws -> Void) rethrows {
        line(header + " {")
        indent()
        try body(&self)
        dedent()
        line("}")
    }

    /// Doc comment lines, wrapped at about 100 columns.
    mutating func doc(_ paragraphs: [String]) {
        var first = true
        for paragraph in paragraphs {
            if !first { line("///") }
            first = false
            for wrapped in wrap(paragraph, width: 96 - indentLevel * 4) {
                line(wrapped.isEmpty ? "///" : "/// " + wrapped)
            }
        }
    }
}

func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: true) {
        if current.isEmpty {
            current = String(word)
        } else if current.count + 1 + word.count > max(width, 40) {
            lines.append(current)
            current = String(word)
        } else {
            current += " " + word
        }
    }
    if !current.isEmpty || lines.isEmpty { lines.append(current) }
    return lines
}

let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
    "inout", "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows",
    "static", "struct", "subscript", "typealias", "var", "break", "case", "continue", "default",
    "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch",
    "where", "while", "as", "Any", "catch", "false", "is", "nil", "super", "self", "Self", "throw",
    "throws", "true", "try", "Type",
]

/// Kafka's field name in lowerCamelCase: only the first letter is lowered, as Kafka's Java
/// generator does (`ThrottleTimeMs` -> `throttleTimeMs`, `KRaftVersionFeature` -> `kRaftVersionFeature`).
func propertyName(_ specName: String) -> String {
    guard let first = specName.first else { return specName }
    return first.lowercased() + specName.dropFirst()
}

/// The identifier as it must be written in Swift source (keywords back-ticked).
func identifier(_ name: String) -> String {
    swiftKeywords.contains(name) ? "`\(name)`" : name
}

func swiftStringLiteral(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

/// Parses a spec integer default: decimal, negative, or `0x` hex.
func parseInteger(_ text: String, context: String) throws -> Int64 {
    var body = Substring(text.trimmingCharacters(in: .whitespaces))
    var negative = false
    if body.hasPrefix("-") {
        negative = true
        body = body.dropFirst()
    }
    let magnitude: UInt64?
    if body.hasPrefix("0x") || body.hasPrefix("0X") {
        magnitude = UInt64(body.dropFirst(2), radix: 16)
    } else {
        magnitude = UInt64(body, radix: 10)
    }
    guard let magnitude else { throw GeneratorError("\(context): bad integer default \"\(text)\"") }
    if negative {
        guard magnitude <= UInt64(Int64.max) + 1 else { throw GeneratorError("\(context): default out of range") }
        return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    guard let value = Int64(exactly: magnitude) else { throw GeneratorError("\(context): default out of range") }
    return value
}

func integerBounds(_ type: FieldType) -> (Int64, Int64) {
    switch type {
    case .int8: return (Int64(Int8.min), Int64(Int8.max))
    case .int16: return (Int64(Int16.min), Int64(Int16.max))
    case .int32: return (Int64(Int32.min), Int64(Int32.max))
    case .uint16: return (0, Int64(UInt16.max))
    case .uint32: return (0, Int64(UInt32.max))
    default: return (Int64.min, Int64.max)
    }
}

/// Everything the emitters need to know about one spec: its version ranges and the structs it
/// defines (inline and common), resolved to the Swift types and expressions they produce.
struct MessageContext {
    let spec: MessageSpec
    let valid: VersionRange
    let flexible: VersionRange
    /// Struct definitions in emission order.
    var structs: [StructSpec] = []
    /// The `about` of the field that declared each inline struct.
    var structAbout: [String: String] = [:]

    init(spec: MessageSpec) throws {
        self.spec = spec
        self.valid = spec.validVersions
        self.flexible = spec.flexibleVersions.intersection(spec.validVersions)
        var seen = Set<String>()
        try collect(spec.fields, seen: &seen)
        for common in spec.commonStructs {
            guard seen.insert(common.name).inserted else {
                throw GeneratorError("\(spec.fileName): struct \(common.name) defined twice")
            }
            structs.append(common)
            try collect(common.fields, seen: &seen)
        }
        let known = Set(structs.map(\.name))
        try checkReferences(spec.fields, known: known)
        for common in spec.commonStructs { try checkReferences(common.fields, known: known) }
    }

    private mutating func collect(_ fields: [FieldSpec], seen: inout Set<String>) throws {
        for field in fields {
            guard let children = field.fields else { continue }
            guard let name = structName(field.type) else {
                throw GeneratorError("\(spec.fileName): field \(field.name) has fields but type is not a struct")
            }
            guard seen.insert(name).inserted else {
                throw GeneratorError("\(spec.fileName): struct \(name) defined twice")
            }
            structs.append(StructSpec(name: name, fields: children))
            if let about = field.about { structAbout[name] = about }
            try collect(children, seen: &seen)
        }
    }

    private func checkReferences(_ fields: [FieldSpec], known: Set<String>) throws {
        for field in fields {
            if let name = structName(field.type), !known.contains(name) {
                throw GeneratorError("\(spec.fileName): field \(field.name) uses unknown struct \(name)")
            }
            if let children = field.fields { try checkReferences(children, known: known) }
        }
    }

    func structName(_ type: FieldType) -> String? {
        switch type {
        case let .structure(name): return name
        case let .array(element): return structName(element)
        default: return nil
        }
    }

    // MARK: Version conditions

    /// A Swift condition on `version` equivalent to membership in `range`, simplified using
    /// the message's valid versions: "true", "false", or comparisons.
    func condition(_ range: VersionRange) -> String {
        let effective = range.intersection(valid)
        if effective.isEmpty { return "false" }
        var parts: [String] = []
        if effective.lower > valid.lower { parts.append("version >= \(effective.lower)") }
        if let upper = effective.upper, let validUpper = valid.upper, upper < validUpper {
            parts.append("version <= \(upper)")
        }
        return parts.isEmpty ? "true" : parts.joined(separator: " && ")
    }

    var hasFlexibleVersions: Bool { !flexible.isEmpty }

    /// The expression telling whether a field uses compact encodings.
    func compactExpression(_ field: FieldSpec) -> String {
        if let override = field.flexibleVersions {
            return condition(override.intersection(flexible))
        }
        return hasFlexibleVersions ? "flexible" : "false"
    }

    func nullableExpression(_ field: FieldSpec) -> String {
        condition(field.nullableVersions.intersection(field.versions))
    }

    // MARK: Types and defaults

    func isOptional(_ field: FieldSpec) -> Bool {
        if field.type == .records { return true }
        if field.defaultValue == "null" { return true }
        return !field.nullableVersions.intersection(field.versions).intersection(valid).isEmpty
    }

    func baseType(_ type: FieldType) -> String {
        switch type {
        case .bool: return "Bool"
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .uint16: return "UInt16"
        case .uint32: return "UInt32"
        case .float64: return "Double"
        case .string: return "String"
        case .bytes, .records: return "ByteBuffer"
        case .uuid: return "KafkaUUID"
        case let .array(element): return "[\(baseType(element))]"
        case let .structure(name): return name
        }
    }

    func swiftType(_ field: FieldSpec) -> String {
        baseType(field.type) + (isOptional(field) ? "?" : "")
    }

    func defaultExpression(_ field: FieldSpec) throws -> String {
        let context = "\(spec.fileName): \(field.name)"
        if field.defaultValue == "null" {
            guard isOptional(field) else { throw GeneratorError("\(context): null default on a non-nullable field") }
            return "nil"
        }
        switch field.type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32:
            guard let text = field.defaultValue, !text.isEmpty else { return "0" }
            let value = try parseInteger(text, context: context)
            let (low, high) = integerBounds(field.type)
            guard value >= low && value <= high else { throw GeneratorError("\(context): default out of range") }
            return String(value)
        case .bool:
            guard let text = field.defaultValue else { return "false" }
            switch text.lowercased() {
            // A bare JSON boolean arrives through NSNumber as "1"/"0".
            case "true", "1": return "true"
            case "false", "0", "": return "false"
            default: throw GeneratorError("\(context): bad bool default \"\(text)\"")
            }
        case .float64:
            guard let text = field.defaultValue, !text.isEmpty else { return "0.0" }
            guard let value = Double(text) else { throw GeneratorError("\(context): bad float default") }
            return "\(value)"
        case .string:
            return swiftStringLiteral(field.defaultValue ?? "")
        case .bytes:
            if let text = field.defaultValue, !text.isEmpty { throw GeneratorError("\(context): bytes default") }
            return "ByteBuffer()"
        case .records:
            return "nil"
        case .uuid:
            if let text = field.defaultValue, !text.isEmpty, text != "AAAAAAAAAAAAAAAAAAAAAA" {
                throw GeneratorError("\(context): uuid defaults other than zero are not supported")
            }
            return "KafkaUUID.zero"
        case .array:
            if let text = field.defaultValue, !text.isEmpty { throw GeneratorError("\(context): array default") }
            return "[]"
        case let .structure(name):
            return "\(name)()"
        }
    }

    // MARK: Coding expressions

    /// The expression reading `field` from the buffer variable `buffer`.
    func readExpression(_ field: FieldSpec, buffer: String, compact: String) -> String {
        let optional = isOptional(field)
        let nullable = nullableExpression(field)
        let name = swiftStringLiteral(propertyName(field.name))
        switch field.type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32:
            return "try \(buffer).readKafkaInteger(as: \(baseType(field.type)).self)"
        case .bool:
            return "try \(buffer).readKafkaBool()"
        case .float64:
            return "try \(buffer).readKafkaFloat64()"
        case .uuid:
            return "try \(buffer).readKafkaUUID()"
        case .string:
            if optional {
                return "try \(buffer).readKafkaString(compact: \(compact), nullable: \(nullable), field: \(name), version: version)"
            }
            return "try \(buffer).readKafkaString(compact: \(compact), field: \(name), version: version)"
        case .bytes, .records:
            if optional {
                return "try \(buffer).readKafkaBytes(compact: \(compact), nullable: \(nullable), field: \(name), version: version)"
            }
            return "try \(buffer).readKafkaBytes(compact: \(compact), field: \(name), version: version)"
        case let .array(element):
            let elementType = baseType(element)
            if optional {
                return "try \(buffer).readKafkaArray(of: \(elementType).self, version: version, compact: \(compact), nullable: \(nullable), field: \(name))"
            }
            return "try \(buffer).readKafkaArray(of: \(elementType).self, version: version, compact: \(compact), field: \(name))"
        case let .structure(structName):
            if optional {
                return "try \(buffer).readKafkaStruct(of: \(structName).self, version: version, nullable: \(nullable))"
            }
            return "try \(structName)(from: &\(buffer), version: version)"
        }
    }

    /// The statement writing `field` into the buffer variable `buffer`.
    func writeStatement(_ field: FieldSpec, buffer: String, compact: String) -> String {
        let optional = isOptional(field)
        let nullable = optional ? nullableExpression(field) : "false"
        let property = "self." + identifier(propertyName(field.name))
        let name = swiftStringLiteral(propertyName(field.name))
        switch field.type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32:
            return "\(buffer).writeKafkaInteger(\(property))"
        case .bool:
            return "\(buffer).writeKafkaBool(\(property))"
        case .float64:
            return "\(buffer).writeKafkaFloat64(\(property))"
        case .uuid:
            return "\(buffer).writeKafkaUUID(\(property))"
        case .string:
            return "try \(buffer).writeKafkaString(\(property), compact: \(compact), nullable: \(nullable), field: \(name), version: version)"
        case .bytes:
            return "try \(buffer).writeKafkaBytes(\(property), compact: \(compact), nullable: \(nullable), field: \(name), version: version)"
        case .records:
            // Records may be a placeholder for bytes sent straight from a file (RecordsSplice).
            return "try \(buffer).writeKafkaRecords(\(property), compact: \(compact), nullable: \(nullable), field: \(name), version: version)"
        case .array:
            return "try \(buffer).writeKafkaArray(\(property), version: version, compact: \(compact), nullable: \(nullable), field: \(name))"
        case .structure:
            if optional {
                return "try \(buffer).writeKafkaStruct(\(property), version: version, nullable: \(nullable), field: \(name))"
            }
            return "try \(property).encode(into: &\(buffer), version: version)"
        }
    }
}
