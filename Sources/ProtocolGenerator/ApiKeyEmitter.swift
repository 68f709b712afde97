import Foundation

/// Emits `ApiKey.swift`: the api key enum with every request spec's key, name and types, and
/// the list of every generated message type (used by tests and tools that walk them all).
func emitApiKey(_ specs: [MessageSpec]) throws -> String {
    let requests = specs.filter { $0.kind == "request" }.sorted { ($0.apiKey ?? 0) < ($1.apiKey ?? 0) }
    let responses = Set(specs.filter { $0.kind == "response" }.map(\.name))
    var seenKeys = Set<Int>()
    for request in requests {
        guard let key = request.apiKey else { throw GeneratorError("\(request.fileName): request without apiKey") }
        guard seenKeys.insert(key).inserted else { throw GeneratorError("api key \(key) used twice") }
        guard responses.contains(responseName(request)) else {
            throw GeneratorError("\(request.fileName): no \(responseName(request)).json")
        }
    }

    var out = SourceWriter()
    out.line(generatedHeaderPrefix + "the *Request.json specs. Do not edit.")
    out.line()
    out.doc([
        "The api key that opens every request header, one case per request spec.",
        "The raw value is Kafka's wire value. `requestType`/`responseType` give the generated "
            + "bodies, so a broker or client can decode by key without a hand-written table.",
    ])
    out.block("public enum ApiKey: Int16, CaseIterable, Sendable, CustomStringConvertible") { out in
        for request in requests {
            var doc = "\(apiName(request)): versions \(request.validVersions.text)"
            if !request.flexibleVersions.intersection(request.validVersions).isEmpty {
                doc += ", flexible from \(request.flexibleVersions.lower)"
            }
            out.doc([doc + "."])
            out.line("case \(apiKeyCaseName(request)) = \(request.apiKey ?? 0)")
        }
        out.line()
        out.doc(["Kafka's name for the API, as `kafka-broker-api-versions` prints it."])
        out.block("public var name: String") { out in
            out.line("switch self {")
            for request in requests {
                out.line("case .\(apiKeyCaseName(request)): return \(swiftStringLiteral(apiName(request)))")
            }
            out.line("}")
        }
        out.line()
        out.doc(["The generated request body type."])
        out.block("public var requestType: any KafkaRequest.Type") { out in
            out.line("switch self {")
            for request in requests {
                out.line("case .\(apiKeyCaseName(request)): return \(request.name).self")
            }
            out.line("}")
        }
        out.line()
        out.doc(["The generated response body type."])
        out.block("public var responseType: any KafkaResponse.Type") { out in
            out.line("switch self {")
            for request in requests {
                out.line("case .\(apiKeyCaseName(request)): return \(responseName(request)).self")
            }
            out.line("}")
        }
        out.line()
        out.line("public var description: String { name }")
    }
    out.line()
    out.doc(["Every generated message type: requests, responses, headers and data types."])
    out.block("public enum KafkaMessageTypes") { out in
        out.line("public static let all: [any KafkaMessage.Type] = [")
        out.indent()
        for spec in specs.sorted(by: { $0.name < $1.name }) {
            out.line("\(spec.name).self,")
        }
        out.dedent()
        out.line("]")
    }
    return out.text
}
