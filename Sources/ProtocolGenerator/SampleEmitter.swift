import Foundation

/// Emits test support: `static func sample(version:)` for every generated struct, giving every
/// field that the version has a value different from its default, so round-trip tests notice
/// a field that is dropped, swapped or written at the wrong version.
///
/// `declareProtocol` is false for the metadata records' samples, which live in a second file of
/// the same test target and reuse the `SampleProviding` protocol the message samples declare.
func emitSamples(_ contexts: [MessageContext], source: String = "the message specs", declareProtocol: Bool = true) throws -> String {
    var out = SourceWriter()
    out.line(generatedHeaderPrefix + "\(source) (test samples). Do not edit.")
    out.line()
    out.line("import NIOCore")
    out.line("@testable import KafkaProtocol")
    if declareProtocol {
        out.line()
        out.doc(["A generated type that can build a sample with non-default values at any version."])
        out.block("protocol SampleProviding") { out in
            out.line("static func sample(version: Int16) -> Self")
        }
    }
    for context in contexts {
        let spec = context.spec
        out.line()
        try emitSample(context, typeName: spec.name, fields: spec.fields, conformance: ": SampleProviding", into: &out)
        for nested in context.structs {
            out.line()
            try emitSample(context, typeName: "\(spec.name).\(nested.name)", fields: nested.fields, conformance: "", into: &out)
        }
    }
    return out.text
}

func emitSample(
    _ context: MessageContext, typeName: String, fields: [FieldSpec], conformance: String, into out: inout SourceWriter
) throws {
    try out.block("extension \(typeName)\(conformance)") { out in
        try out.block("static func sample(version: Int16) -> \(typeName)") { out in
            out.line("var value = \(typeName)()")
            for (index, field) in fields.enumerated() {
                let present = context.condition(field.versions)
                if present == "false" { continue }
                let assignment = "value.\(identifier(propertyName(field.name))) = " +
                    (try sampleExpression(context, field: field, type: field.type, seed: "\(typeName).\(field.name)#\(index)"))
                if present == "true" {
                    out.line(assignment)
                } else {
                    out.block("if \(present)") { out in out.line(assignment) }
                }
            }
            if context.hasFlexibleVersions {
                out.block("if \(context.condition(context.flexible))") { out in
                    out.line("value.unknownTaggedFields = [UnknownTaggedField(tag: 9_999, data: ByteBuffer(bytes: [0x5A, 0xA5]))]")
                }
            }
            out.line("return value")
        }
    }
}

/// A deterministic 32-bit hash (FNV-1a) so samples differ from field to field.
func stableHash(_ text: String) -> UInt32 {
    var hash: UInt32 = 2_166_136_261
    for byte in text.utf8 {
        hash ^= UInt32(byte)
        hash = hash &* 16_777_619
    }
    return hash
}

func sampleExpression(_ context: MessageContext, field: FieldSpec, type: FieldType, seed: String) throws -> String {
    let hash = stableHash(seed)
    switch type {
    case .int8, .int16, .int32, .int64, .uint16, .uint32:
        let defaultText = try context.defaultExpression(field)
        let modulus: UInt32
        switch type {
        case .int8: modulus = 100
        case .int16, .uint16: modulus = 30_000
        default: modulus = 1_000_000
        }
        var value = Int64(hash % modulus) + 2
        if type == field.type, String(value) == defaultText { value += 1 }
        return String(value)
    case .bool:
        return try context.defaultExpression(field) == "true" ? "false" : "true"
    case .float64:
        return "\(Double(hash % 1000) + 0.5)"
    case .string:
        return swiftStringLiteral("\(propertyName(field.name))-\(hash % 1000)")
    case .bytes:
        return "ByteBuffer(bytes: [1, 2, \(hash % 256)])"
    case .records:
        return "ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 7, \(hash % 256)])"
    case .uuid:
        let low = UInt64(stableHash(seed + "low")) | 1
        return "KafkaUUID(mostSignificantBits: \(hash), leastSignificantBits: \(low))"
    case let .array(element):
        let first = try sampleExpression(context, field: field, type: element, seed: seed + "[0]")
        let second = try sampleExpression(context, field: field, type: element, seed: seed + "[1]")
        return "[\(first), \(second)]"
    case let .structure(name):
        return "\(context.spec.name).\(name).sample(version: version)"
    }
}
