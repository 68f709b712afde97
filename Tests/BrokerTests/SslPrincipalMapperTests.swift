import Foundation
import XCTest
@testable import Broker

/// `ssl.principal.mapping.rules` (KIP-371): Kafka's own `SslPrincipalMapperTest` cases, ported
/// one for one, then what Samsa adds (replacements checked at start-up, the config error).
final class SslPrincipalMapperTests: XCTestCase {
    private func valid(_ rules: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try SslPrincipalMapper(rules: rules), rules, file: file, line: line)
    }

    private func invalid(_ rules: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SslPrincipalMapper(rules: rules), rules, file: file, line: line)
    }

    private func splits(_ expected: String, _ rules: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try SslPrincipalMapper(rules: rules).description, "SslPrincipalMapper(rules = \(expected))",
                       rules, file: file, line: line)
    }

    // Kafka: testValidRules.
    func testValidRules() {
        valid("DEFAULT")
        valid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/")
        valid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT")
        valid("RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/")
        valid("RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L")
        valid("RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U")
        valid("RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/")
        valid("RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/")
    }

    // Kafka: testInvalidRules.
    func testInvalidRules() {
        invalid("default")
        invalid("DEFAUL")
        invalid("DEFAULT/L")
        invalid("DEFAULT/U")
        invalid("RULE:CN=(.*?),OU=ServiceUsers.*/$1")
        invalid("rule:^CN=(.*?),OU=ServiceUsers.*$/$1/")
        invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U")
        invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/L")
        invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/U")
        invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/LU")
    }

    // Kafka: testSslPrincipalMapper.
    func testSslPrincipalMapper() throws {
        let rules = [
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
            "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
            "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
            "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
            "DEFAULT",
        ].joined(separator: ", ")
        let mapper = try SslPrincipalMapper(rules: rules)
        XCTAssertEqual(mapper.name(for: "CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke")
        XCTAssertEqual(mapper.name(for: "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"), "duke@sme")
        XCTAssertEqual(mapper.name(for: "cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME")
        XCTAssertEqual(mapper.name(for: "cN=duke,OU=JavaSoft,O=Sun Microsystems"), "DUKE")
        XCTAssertEqual(mapper.name(for: "OU=JavaSoft,O=Sun Microsystems,C=US"), "OU=JavaSoft,O=Sun Microsystems,C=US")
    }

    // Kafka: testRulesSplitting ("seeing is believing").
    func testRulesSplitting() throws {
        try splits("[]", "")
        try splits("[DEFAULT]", "DEFAULT")
        try splits("[RULE:/]", "RULE://")
        try splits("[RULE:/.*]", "RULE:/.*/")
        try splits("[RULE:/.*/L]", "RULE:/.*/L")
        try splits("[RULE:/, DEFAULT]", "RULE://,DEFAULT")
        try splits("[RULE:/, DEFAULT]", "  RULE:// ,  DEFAULT  ")
        try splits("[RULE:   /     , DEFAULT]", "  RULE:   /     / ,  DEFAULT  ")
        try splits("[RULE:  /     /U, DEFAULT]", "  RULE:  /     /U   ,DEFAULT  ")
        try splits("[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]", "  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ")

        // Empty rules are ignored.
        try splits("[]", ",   , , ,      , , ,   ")
        try splits("[RULE:/, DEFAULT]", ",,RULE://,,,DEFAULT,,")
        try splits("[RULE: /   , DEFAULT]", ",  , RULE: /   /    ,,,   DEFAULT, ,   ")
        try splits("[RULE:   /  /U, DEFAULT]", "     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,")

        // Escape sequences.
        try splits(#"[RULE:\/\\\(\)\n\t/\/\/]"#, #"RULE:\/\\\(\)\n\t/\/\//"#)
        try splits(#"[RULE:\**\/+/*/L, RULE:\/*\**/**]"#, #"RULE:\**\/+/*/L,RULE:\/*\**/**/"#)

        // Rules rule.
        try splits(#"[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]"#,
                   #"RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT"#)
    }

    // Kafka: testCommaWithWhitespace.
    func testCommaWithWhitespace() throws {
        let mapper = try SslPrincipalMapper(rules: #"RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT"#)
        XCTAssertEqual(mapper.name(for: #"CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz"#), #"Tkac\, Adam"#)
    }

    // MARK: Beyond Kafka's test

    func testRulesOnSeveralLinesAndTheIssueExample() throws {
        // A properties file joins `\`-continued lines; a value may also hold newlines.
        let mapper = try SslPrincipalMapper(rules: "RULE:^CN=(.*?),OU=.*$/$1/L,\n  DEFAULT")
        XCTAssertEqual(mapper.name(for: "CN=Alice,OU=eng,O=Acme"), "alice")
        XCTAssertEqual(mapper.name(for: "O=Acme,C=US"), "O=Acme,C=US")
        XCTAssertEqual(SslPrincipalMapper.default.name(for: "CN=Alice,OU=eng"), "CN=Alice,OU=eng")
    }

    func testNoMatchingRuleHasNoName() throws {
        XCTAssertNil(try SslPrincipalMapper(rules: "RULE:^CN=(.*?),OU=eng$/$1/").name(for: "CN=bob,OU=ops"))
        // Kafka: an empty value has no rule at all, so no certificate gets a name.
        XCTAssertNil(try SslPrincipalMapper(rules: "").name(for: "CN=bob"))
    }

    func testPatternMustMatchTheWholeName() throws {
        // Java's matches() decides whether the rule applies (the whole name, any alternative);
        // replaceAll then replaces the leftmost-first matches: Kafka maps CN=ab to "xb".
        let mapper = try SslPrincipalMapper(rules: "RULE:CN=a|CN=ab/x/")
        XCTAssertEqual(mapper.name(for: "CN=ab"), "xb")
        XCTAssertEqual(mapper.name(for: "CN=a"), "x")
        XCTAssertNil(mapper.name(for: "CN=abc"))
    }

    func testReplacementIsJavasReplaceAll() throws {
        // Every match is replaced, not only the first (String.replaceAll).
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:[a-z]+/_/").name(for: "abc"), "_")
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:(.+?)/$1-/").name(for: "abc"), "a-b-c-")
        // A group the pattern does not have is literal text (Kafka's escapeLiteralBackReferences).
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:^CN=(.*)$/$1@$2/").name(for: "CN=x"), "x@$2")
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:^CN=(.*)$/$1@$2.$3/").name(for: "CN=x"), "x@$2.$3")
        // $12 with one group: group 1 then "2".
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:^CN=(.*)$/$12/").name(for: "CN=x"), "x2")
        // \$ and \\ in a replacement.
        XCTAssertEqual(try SslPrincipalMapper(rules: #"RULE:^CN=(.*)$/\$1\\$1/"#).name(for: "CN=x"), #"$1\x"#)
        // Named groups.
        XCTAssertEqual(try SslPrincipalMapper(rules: "RULE:^CN=(?<user>[a-z]+),.*$/${user}/U").name(for: "CN=ann,O=x"), "ANN")
    }

    func testBrokenReplacementsAndPatternsAreRefusedAtStartUp() {
        invalid("RULE:^CN=.*$/$1/")            // no group to refer to
        invalid("RULE:^CN=(.*)$/$/")           // $ without a group
        invalid("RULE:^CN=(.*)$/$x/")
        invalid("RULE:^CN=(?<u>.*)$/${v}/")    // no such named group
        invalid("RULE:^CN=(.*$/$1/")           // not a regular expression
    }

    func testBadRuleStopsStartUpNamingTheKey() {
        func load(_ text: String) throws -> BrokerConfig { try BrokerConfig(properties: PropertiesFile(parsing: text)) }
        let base = "listeners=SSL://:9093,MTLS://:9094\nlistener.security.protocol.map=SSL:SSL,MTLS:SSL\n"
        XCTAssertThrowsError(try load(base + "ssl.principal.mapping.rules=RULE:^CN=(.*?)/$1\n")) { error in
            XCTAssertEqual("\(error)", "Invalid value \"RULE:^CN=(.*?)/$1\" for configuration ssl.principal.mapping.rules: Invalid rule: `RULE:^CN=(.*?)/$1`, unmatched substring: `RULE:^CN=(.*?)/$1`")
        }
        XCTAssertThrowsError(try load(base + "listener.name.mtls.ssl.principal.mapping.rules=DEFAULT/L\n")) { error in
            guard case .invalidValue(let key, _, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "listener.name.mtls.ssl.principal.mapping.rules")
        }
    }

    func testEachSSLListenerGetsItsRules() throws {
        let c = try BrokerConfig(properties: PropertiesFile(parsing: """
            listeners=PLAINTEXT://:9092,SSL://:9093,MTLS://:9094,SASL_SSL://:9095
            listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL
            sasl.enabled.mechanisms=PLAIN
            listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";
            listener.name.mtls.ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/L,DEFAULT
            """))
        // Only SSL listeners name clients by certificate (SASL_SSL: the SASL identity).
        XCTAssertEqual(Set(c.sslPrincipalMappers.keys), ["SSL", "MTLS"])
        XCTAssertEqual(c.sslPrincipalMappers["SSL"], .default)
        XCTAssertEqual(c.sslPrincipalMappers["MTLS"]?.name(for: "CN=Alice,OU=eng"), "alice")
    }
}
