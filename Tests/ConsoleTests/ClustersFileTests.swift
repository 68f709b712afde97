import XCTest
import TerminalUI
@testable import Console

/// Issue 13 item 5: the clusters file and `:cluster`, with its bad input (malformed file,
/// unknown keys, an entry that cannot be used, an unknown name).
final class ClustersFileTests: XCTestCase {
    func parse(_ text: String) -> Result<(profiles: [ClusterProfile], defaultName: String), ClustersFileError> {
        Result { () throws(ClustersFileError) in try ClustersFile.parse(text, file: "c.toml") }
    }

    func error(_ text: String) -> String? {
        if case .failure(let e) = parse(text) { return e.description } else { return nil }
    }

    func testProfilesAndDefault() throws {
        let (profiles, def) = try parse("""
        default = "prod"
        [clusters.staging]
        bootstrap-servers = "s1:9092,s2:9092"
        [clusters.prod]
        bootstrap-servers = "p1:9093"
        metrics = "http://p1:7071"
        read-only = true
        """).get()
        XCTAssertEqual(def, "prod")
        XCTAssertEqual(profiles, [
            ClusterProfile(name: "prod", bootstrapServers: "p1:9093", metrics: "http://p1:7071", readOnly: true),
            ClusterProfile(name: "staging", bootstrapServers: "s1:9092,s2:9092"),
        ])
        XCTAssertEqual(try parse("[clusters.b]\nbootstrap-servers = \"b:1\"\n[clusters.a]\nbootstrap-servers = \"a:1\"").get().defaultName, "a")
    }

    func testMalformedFilesSayWhereAndWhat() {
        XCTAssertTrue(error("[clusters.a\nbootstrap-servers = 1")?.hasPrefix("c.toml:1:") ?? false, error("[clusters.a\nbootstrap-servers = 1") ?? "")
        XCTAssertEqual(error(""), "c.toml: no cluster: add a [clusters.NAME] table with bootstrap-servers = \"host:port\"")
        XCTAssertEqual(error("[cluster.a]\nbootstrap-servers = \"a:1\""),
                       "c.toml: unknown key 'cluster' (expected [clusters.NAME] tables and an optional default = \"NAME\")")
        XCTAssertEqual(error("[clusters.a]\nbootstrap_servers = \"a:1\""),
                       "c.toml: clusters.a: unknown key 'bootstrap_servers' (known: bootstrap-servers, command-config, metrics, read-only)")
        XCTAssertEqual(error("[clusters.a]\nread-only = true"), "c.toml: clusters.a has no bootstrap-servers")
        XCTAssertEqual(error("[clusters.a]\nbootstrap-servers = 9092"), "c.toml: clusters.a.bootstrap-servers must be a non-empty string")
        XCTAssertEqual(error("[clusters.a]\nbootstrap-servers = \"a:1\"\nread-only = \"yes\""), "c.toml: clusters.a.read-only must be true or false")
        XCTAssertEqual(error("default = \"b\"\n[clusters.a]\nbootstrap-servers = \"a:1\""), "c.toml: default = \"b\" names no [clusters.b] table")
        XCTAssertTrue(error("[clusters.a]\nbootstrap-servers = \"a:1\"\nmetrics = \"ftp://x\"")?.hasPrefix("c.toml: clusters.a.metrics: ") ?? false)
    }

    /// An entry whose command-config is missing is kept (the others work) with why not.
    func testAnUnusableEntryIsKeptWithItsProblem() throws {
        let (profiles, _) = try parse("[clusters.a]\nbootstrap-servers = \"a:1\"\ncommand-config = \"/nonexistent/x.properties\"\n[clusters.b]\nbootstrap-servers = \"b:1\"").get()
        XCTAssertTrue(profiles[0].problem?.hasPrefix("cluster 'a': cannot read its command-config /nonexistent/x.properties") ?? false, "\(profiles[0])")
        XCTAssertNil(profiles[1].problem)
    }

    func testClusterCommand() {
        let h = ConsoleHarness(width: 120, height: 24)
        h.command("cluster prod")
        XCTAssertTrue(h.status.contains("no clusters file: start with --clusters FILE"), h.status)
        h.controller.clusterName = "staging"
        h.controller.clusterNames = ["prod", "staging"]
        h.draw()
        XCTAssertTrue(h.vt.row(0).contains("[staging]"), h.vt.row(0))
        h.command("cluster")
        XCTAssertTrue(h.status.contains("clusters: prod, staging (this one); :cluster NAME switches"), h.status)
        h.command("cluster staging")
        XCTAssertTrue(h.status.contains("already on cluster staging"), h.status)
        h.command("cluster nope")
        XCTAssertTrue(h.status.contains("no cluster 'nope' in the clusters file (clusters: prod, staging (this one))"), h.status)
        XCTAssertTrue(h.effects.isEmpty)
        h.command("use prod")
        XCTAssertEqual(h.effects, [.switchCluster("prod")])
    }
    /// `:cluster up [N]` and `:cluster down` (issue 13): the console asks its runtime to start
    /// or stop a local demo cluster; only where it may, once, with usage errors said.
    func testLocalClusterUpAndDown() {
        let h = ConsoleHarness(width: 200, height: 24)
        h.command("cluster up")
        XCTAssertTrue(h.status.contains("no local cluster control here"), h.status)
        h.controller.localClusterDirectory = "/tmp/x/local-cluster"
        h.command("cluster down")
        XCTAssertTrue(h.status.contains("no local cluster started from this console (:cluster up [N] starts one)"), h.status)
        h.command("cluster up 0")
        XCTAssertTrue(h.status.contains("usage: :cluster up [N] (N nodes, 1-9; default 3)"), h.status)
        h.command("cluster up three")
        XCTAssertTrue(h.status.contains("usage: :cluster up [N]"), h.status)
        XCTAssertTrue(h.effects.isEmpty)
        h.command("cluster up")
        XCTAssertEqual(h.effects, [.startLocalCluster(brokers: 3)], "works without a clusters file")
        h.command("cluster up 5")
        XCTAssertEqual(h.effects.last, .startLocalCluster(brokers: 5))
        h.effects = []
        h.controller.localClusterRunning = true
        h.command("cluster up")
        XCTAssertTrue(h.status.contains("a local cluster already runs in /tmp/x/local-cluster: :cluster local opens it, :cluster down stops it"), h.status)
        h.command("cluster down now")
        XCTAssertTrue(h.status.contains("usage: :cluster down"), h.status)
        XCTAssertTrue(h.effects.isEmpty)
        h.command("cluster down")
        XCTAssertEqual(h.effects, [.stopLocalCluster])
    }

    /// A console that cannot reach its cluster offers a local one, once, naming the directory.
    func testAnUnreachableClusterGetsTheOfferOfALocalOne() {
        let h = ConsoleHarness(width: 200, height: 24)
        h.controller.localClusterDirectory = "/tmp/x/local-cluster"
        var down = ClusterSnapshot.empty(bootstrap: "nowhere:9092")
        down.errors[.metadata] = "connection refused"
        h.snap = down
        h.draw()
        XCTAssertTrue(h.status.contains("cannot reach the cluster: :cluster up starts a local 3-node demo cluster in /tmp/x/local-cluster"), h.status)
        h.command("cluster")
        h.draw()
        XCTAssertFalse(h.status.contains(":cluster up starts"), "said once: \(h.status)")
        // Not offered where the console cannot start one, nor while one runs.
        let demo = ConsoleHarness(width: 200, height: 24)
        demo.snap = down
        demo.draw()
        XCTAssertFalse(demo.status.contains(":cluster up"), demo.status)
    }
}
