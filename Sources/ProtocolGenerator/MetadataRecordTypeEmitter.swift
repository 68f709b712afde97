import Foundation

/// The case name of a metadata record type: the spec name in lowerCamelCase
/// (`RegisterBrokerRecord` -> `registerBrokerRecord`), as Kafka's `MetadataRecordType`
/// enum names its constants after the record (`REGISTER_BROKER_RECORD`).
func metadataRecordCaseName(_ spec: MessageSpec) -> String {
    identifier(propertyName(spec.name))
}

/// Emits `MetadataRecordType.swift` from the `metadata/*.json` specs: Kafka's generated
/// `MetadataRecordType` (the api key of every `__cluster_metadata` record, its name, its
/// versions and its generated type), so `MetadataRecordSerde` decodes by key without a
/// hand-written table that could fall behind the specs.
func emitMetadataRecordType(_ specs: [MessageSpec]) throws -> String {
    let records = specs.filter { $0.kind == "metadata" }.sorted { ($0.apiKey ?? 0) < ($1.apiKey ?? 0) }
    guard records.count == specs.count else {
        let other = specs.filter { $0.kind != "metadata" }.map(\.fileName)
        throw GeneratorError("not metadata record specs: \(other.joined(separator: ", "))")
    }
    var seenKeys = Set<Int>()
    for record in records {
        guard let key = record.apiKey else { throw GeneratorError("\(record.fileName): metadata record without apiKey") }
        guard seenKeys.insert(key).inserted else { throw GeneratorError("metadata record type \(key) used twice") }
    }

    var out = SourceWriter()
    out.line(generatedHeaderPrefix + "the metadata/*.json specs. Do not edit.")
    out.line()
    out.doc([
        "Kafka's `MetadataRecordType`: the type id (the spec's `apiKey`) that `MetadataRecordSerde` writes "
            + "before every `__cluster_metadata` record, one case per metadata record spec.",
    ])
    out.block("public enum MetadataRecordType: Int16, CaseIterable, Sendable, CustomStringConvertible") { out in
        for record in records {
            out.doc(["\(record.name): versions \(record.validVersions.text)."])
            out.line("case \(metadataRecordCaseName(record)) = \(record.apiKey ?? 0)")
        }
        out.line()
        out.doc(["The spec's record name (`RegisterBrokerRecord`)."])
        out.block("public var name: String") { out in
            out.line("switch self {")
            for record in records {
                out.line("case .\(metadataRecordCaseName(record)): return \(swiftStringLiteral(record.name))")
            }
            out.line("}")
        }
        out.line()
        out.doc(["The generated record type."])
        out.block("public var recordType: any KafkaMetadataRecord.Type") { out in
            out.line("switch self {")
            for record in records {
                out.line("case .\(metadataRecordCaseName(record)): return \(record.name).self")
            }
            out.line("}")
        }
        out.line()
        out.doc(["The versions this code reads and writes (the spec's `validVersions`)."])
        out.block("public var validVersions: ClosedRange<Int16>") { out in
            out.line("switch self {")
            for record in records {
                out.line("case .\(metadataRecordCaseName(record)): return \(record.validVersions.lower)...\(record.validVersions.upper ?? record.validVersions.lower)")
            }
            out.line("}")
        }
        out.line()
        out.line("public var description: String { name }")
    }
    return out.text
}
