import XCTest
import enum KafkaClient.KafkaClientError
import enum KafkaClient.KafkaAcl
import enum KafkaClient.ScramUserMechanism
import struct KafkaClient.ScramUserDescription
import TerminalUI
@testable import Console

/// Issue 14 item 4: the ACL and Users panes (`:acl add` parsing, the presenters, the keys and
/// confirmations, the masked password prompt, `--read-only`, and the executor path against a
/// scripted cluster: no sockets).
final class SecurityPaneTests: XCTestCase {
    typealias B = KafkaAcl.Binding

    func parse(_ line: String) -> Result<[B], ConsoleController.CommandError> {
        ConsoleController.parseAclAdd(line.split(separator: " ").map(String.init))
    }

    func message(_ line: String) -> String? {
        if case .failure(let e) = parse(line) { return e.message } else { return nil }
    }

    // MARK: - `:acl add` arguments

    func testParsesTheShortFormAndKafkaAclsFlags() throws {
        XCTAssertEqual(try parse("User:alice Read topic orders").get(),
                       [B(resourceType: .topic, resourceName: "orders", principal: "User:alice", operation: .read)])
        let expected = [B(resourceType: .topic, resourceName: "orders-", patternType: .prefixed, principal: "User:bob", host: "10.0.0.1", operation: .write, permission: .deny),
                        B(resourceType: .topic, resourceName: "orders-", patternType: .prefixed, principal: "User:bob", host: "10.0.0.1", operation: .describe, permission: .deny)]
        XCTAssertEqual(try parse("deny User:bob write,DESCRIBE topic orders- prefixed host 10.0.0.1").get(), expected)
        XCTAssertEqual(try parse("--deny-principal User:bob --operation Write --operation describe --topic orders- --resource-pattern-type PREFIXED --deny-host 10.0.0.1").get(),
                       expected)
        XCTAssertEqual(try parse("--allow-principal User:svc --operation IdempotentWrite --cluster").get(),
                       [B(resourceType: .cluster, resourceName: "kafka-cluster", principal: "User:svc", operation: .idempotentWrite)])
        XCTAssertEqual(try parse("User:svc describe_configs transactional-id tx1").get(),
                       [B(resourceType: .transactionalId, resourceName: "tx1", principal: "User:svc", operation: .describeConfigs)])
        // Principals x hosts x operations, as kafka-acls.sh.
        XCTAssertEqual(try parse("User:a User:b read,write group g host h1 host h2").get().count, 8)
        XCTAssertEqual(try parse("User:a read read group g").get().count, 1)
    }

    func testRefusesIncompleteOrContradictoryArguments() {
        XCTAssertTrue(message("")?.hasPrefix("give a principal") ?? false)
        XCTAssertTrue(message("Read topic orders")?.hasPrefix("give a principal") ?? false)
        XCTAssertTrue(message("User:alice topic orders")?.hasPrefix("give an operation") ?? false)
        XCTAssertTrue(message("User:alice Read")?.hasPrefix("give the resource") ?? false)
        XCTAssertEqual(message("User:alice Read topic orders group g"), "one resource per :acl add")
        XCTAssertEqual(message("User:alice Read topic orders allow deny"), "one permission per :acl add (both allow and deny given)")
        XCTAssertEqual(message("--allow-principal User:a --deny-principal User:b Read topic t"), "one permission per :acl add (both allow and deny given)")
        XCTAssertEqual(message("User:alice Read topic orders prefixed literal"), "both literal and prefixed given")
        XCTAssertTrue(message("User:alice Reed topic orders")?.hasPrefix("unknown operation 'Reed'") ?? false)
        XCTAssertTrue(message("User:alice Any topic orders")?.hasPrefix("unknown operation 'Any'") ?? false)
        XCTAssertEqual(message("User:alice Read topic orders --pattern match"), "the pattern type of an ACL is literal or prefixed, not 'match'")
        XCTAssertEqual(message("alice: Read topic t"), "a principal is Type:name (User:alice), not 'alice:'")
        XCTAssertEqual(message("User:alice Read topic"), "topic needs a name")
        XCTAssertTrue(message("User:alice Read topic t --frobnicate")?.hasPrefix("unknown flag --frobnicate") ?? false)
    }

    func testUserCommands() {
        typealias C = ConsoleController
        XCTAssertEqual(try C.parseUserCommand([]).get(), .list)
        XCTAssertEqual(try C.parseUserCommand(["set", "alice"]).get(), .set("alice", .sha256, password: nil))
        XCTAssertEqual(try C.parseUserCommand(["set", "alice", "scram-sha-512"]).get(), .set("alice", .sha512, password: nil))
        XCTAssertEqual(try C.parseUserCommand(["add", "alice", "SHA-256", "pw"]).get(), .set("alice", .sha256, password: "pw"))
        XCTAssertEqual(try C.parseUserCommand(["delete", "bob"]).get(), .delete("bob", nil))
        XCTAssertEqual(try C.parseUserCommand(["rm", "bob", "512"]).get(), .delete("bob", .sha512))
        XCTAssertThrowsError(try C.parseUserCommand(["set"]).get())
        XCTAssertEqual(C.parseUserCommand(["set", "alice", "MD5"]), .failure(.init(message: "mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not 'MD5'")))
        XCTAssertEqual(C.parseUserCommand(["set", "a,b"]), .failure(.init(message: "user name: no spaces, ',' or '='")))
        XCTAssertThrowsError(try C.parseUserCommand(["frob"]).get())
    }

    // MARK: - Presenters

    let alice = B(resourceType: .topic, resourceName: "orders", principal: "User:alice", operation: .read)
    let bobDeny = B(resourceType: .group, resourceName: "g-", patternType: .prefixed, principal: "User:bob", operation: .all, permission: .deny)

    func testAclPresenterListsFiltersAndSaysWhyItIsEmpty() {
        let now = Date(timeIntervalSince1970: 1000)
        var d = SecurityData<B>()
        var t = Presenters.acls(d, filter: TextFilter(""), now: now)
        XCTAssertEqual(t.emptyMessage, "reading ACLs…")
        d.received([bobDeny, alice], now: now.addingTimeInterval(-12))
        t = Presenters.acls(d, filter: TextFilter(""), now: now)
        XCTAssertEqual(t.columns.map(\.title), ["PRINCIPAL", "HOST", "OPERATION", "PERMISSION", "RESOURCE", "NAME", "PATTERN"])
        XCTAssertEqual(t.rowCount, 2)
        XCTAssertEqual(t.row(0).cells, ["User:alice", "*", "Read", "ALLOW", "TOPIC", "orders", "LITERAL"])
        XCTAssertEqual(t.row(1).cells, ["User:bob", "*", "All", "DENY", "GROUP", "g-", "PREFIXED"])
        XCTAssertEqual(t.subtitle, " · read 12s ago")
        XCTAssertEqual(t.detail(0), "ALLOW User:alice Read on TOPIC orders (LITERAL) from host *; d deletes it")
        // Filter by principal or by resource.
        XCTAssertEqual(Presenters.acls(d, filter: TextFilter("User:bob"), now: now).rowCount, 1)
        XCTAssertEqual(Presenters.acls(d, filter: TextFilter("orders"), now: now).row(0).cells[0], "User:alice")
        XCTAssertEqual(Presenters.acls(d, filter: TextFilter("nothing-like-this"), now: now).emptyMessage, "no ACLs match the filter")
        // No authorizer: said plainly, not an empty table.
        d.failed("describe ACLs: SECURITY_DISABLED (error 54): No Authorizer is configured.", code: 54, now: now)
        t = Presenters.acls(d, filter: TextFilter(""), now: now)
        XCTAssertEqual(t.rowCount, 0)
        XCTAssertTrue(t.emptyMessage.hasPrefix("this cluster has no authorizer (SECURITY_DISABLED)"), t.emptyMessage)
        XCTAssertTrue(t.emptyMessage.hasSuffix("Kafka said: describe ACLs: SECURITY_DISABLED (error 54): No Authorizer is configured."), t.emptyMessage)
        // Any other refusal, verbatim.
        d = SecurityData()
        d.failed("describe ACLs: CLUSTER_AUTHORIZATION_FAILED (error 31)", code: 31, now: now)
        XCTAssertEqual(Presenters.acls(d, filter: TextFilter(""), now: now).emptyMessage, "cannot read ACLs: describe ACLs: CLUSTER_AUTHORIZATION_FAILED (error 31)")
    }

    func testUsersPresenterHasARowPerCredential() {
        let now = Date(timeIntervalSince1970: 1000)
        var d = SecurityData<ScramUserDescription>()
        d.received([ScramUserDescription(user: "zed", credentials: [.init(mechanism: "SCRAM-SHA-256", iterations: 4096)]),
                    ScramUserDescription(user: "alice", credentials: [.init(mechanism: "SCRAM-SHA-512", iterations: 8192),
                                                                      .init(mechanism: "SCRAM-SHA-256", iterations: 8192)])], now: now)
        let t = Presenters.users(d, filter: TextFilter(""), now: now)
        XCTAssertEqual((0..<t.rowCount).map { t.row($0).cells }, [["alice", "SCRAM-SHA-256", "8192"], ["alice", "SCRAM-SHA-512", "8192"], ["zed", "SCRAM-SHA-256", "4096"]])
        XCTAssertEqual(t.key(1), "alice\tSCRAM-SHA-512")
        XCTAssertEqual(Presenters.users(d, filter: TextFilter("zed"), now: now).rowCount, 1)
        d.received([], now: now)
        XCTAssertEqual(Presenters.users(d, filter: TextFilter(""), now: now).emptyMessage, "no SCRAM users (a add, or :user set NAME)")
    }

    // MARK: - Screens

    func testAclPaneOpensReadsAddsWithConfirmationAndDeletesTheSelected() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("acl")
        XCTAssertEqual(h.controller.currentPane, .acls)
        XCTAssertEqual(h.effects, [.perform(.describeAcls)])
        XCTAssertTrue(h.vt.contains("reading ACLs…"), h.screenText)
        h.receive(.acls([bobDeny]))
        XCTAssertTrue(h.vt.contains("User:bob"), h.screenText)
        h.effects = []
        h.command("acl add User:alice Read topic orders")
        XCTAssertTrue(h.vt.contains("add the ACL ALLOW User:alice Read on TOPIC orders (LITERAL) from host *?"), h.screenText)
        XCTAssertEqual(h.controller.stack.count, 2, "the ACL pane is not pushed twice")
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.describeAcls), .perform(.createAcls([alice]))])
        h.receive(.acls([bobDeny, alice]))
        XCTAssertTrue(h.vt.contains("User:alice"), h.screenText)
        // `a` opens the palette on `acl add `.
        h.press(.char("a"))
        guard case .palette(let p) = h.controller.mode else { return XCTFail("no palette") }
        XCTAssertEqual(p.editor.text, "acl add ")
        h.press(.escape)
        // Delete the selected binding after a confirmation. The selection stayed on User:bob
        // (by identity) when User:alice was listed above it.
        h.effects = []
        h.press(.char("d"))
        XCTAssertTrue(h.vt.contains("delete the ACL DENY User:bob All on GROUP g- (PREFIXED) from host *?"), h.screenText)
        h.press(.char("n"))
        XCTAssertEqual(h.effects, [])
        h.press(.up, .char("d"))
        XCTAssertTrue(h.vt.contains("delete the ACL ALLOW User:alice Read on TOPIC orders (LITERAL) from host *?"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.deleteAcl(alice))])
        // A refusal shows Kafka's error verbatim.
        h.receive(.actionFailed(.deleteAcl(alice), "deleting ACL x failed: CLUSTER_AUTHORIZATION_FAILED (error 31): denied"))
        XCTAssertTrue(h.status.contains("CLUSTER_AUTHORIZATION_FAILED (error 31): denied"), h.status)
        // Bad arguments never reach the cluster.
        h.effects = []
        h.command("acl add User:alice Reed topic orders")
        XCTAssertTrue(h.status.contains("unknown operation 'Reed'"), h.status)
        XCTAssertEqual(h.effects, [])
    }

    /// From the Messages pane, `:acl` stops the tail (popping back to an ACL pane below it
    /// once left the tail running).
    func testOpeningFromTheMessagesPaneStopsTheTail() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("acl")
        h.command("messages orders")
        h.effects = []
        h.command("acl")
        XCTAssertEqual(h.controller.currentPane, .acls)
        XCTAssertEqual(h.effects, [.tail(nil), .perform(.describeAcls)])
    }

    func testAclPaneSaysWhenTheClusterHasNoAuthorizer() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("acls")
        h.receive(.aclsFailed("describe ACLs: SECURITY_DISABLED (error 54): No Authorizer is configured.", code: 54))
        XCTAssertTrue(h.vt.contains("this cluster has no authorizer (SECURITY_DISABLED)"), h.screenText)
    }

    func testUsersPaneMasksThePasswordAndNeverPrintsIt() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("user set alice")
        XCTAssertEqual(h.controller.currentPane, .users)
        XCTAssertTrue(h.vt.contains("Change the password of alice"), h.screenText)
        h.type("s3cret!")
        XCTAssertFalse(h.vt.contains("s3cret"), h.screenText)
        XCTAssertTrue(h.vt.contains("*******"), h.screenText)
        h.press(.enter)
        h.type("s3cret?")
        h.press(.enter, .enter)
        XCTAssertTrue(h.vt.contains("the passwords differ"), h.screenText)
        h.press(.up, .backspace)
        h.type("!")
        h.press(.enter, .enter)
        let action = ConsoleAction.setUserPassword(user: "alice", mechanism: .sha256, password: Secret("s3cret!"), iterations: 8192)
        XCTAssertEqual(h.effects, [.perform(.describeUsers), .perform(action)])
        // Logs print actions: the password is not in them.
        XCTAssertFalse("\(action)".contains("s3cret"), "\(action)")
        XCTAssertFalse(String(reflecting: action).contains("s3cret"))
        // A refusal reopens the dialog with Kafka's reason.
        h.receive(.actionFailed(action, "setting the SCRAM-SHA-256 credential of user alice failed: alter SCRAM user alice: CLUSTER_AUTHORIZATION_FAILED (error 31)"))
        XCTAssertTrue(h.vt.contains("CLUSTER_AUTHORIZATION_FAILED (error 31)"), h.screenText)
        XCTAssertFalse(h.vt.contains("s3cret"), h.screenText)
    }

    func testUsersPaneKeysAndInlinePassword() {
        let h = ConsoleHarness(width: 120, height: 30)
        h.command("user set bob SCRAM-SHA-512 pw1")
        XCTAssertEqual(h.effects, [.perform(.describeUsers),
                                   .perform(.setUserPassword(user: "bob", mechanism: .sha512, password: Secret("pw1"), iterations: 8192))])
        h.receive(.users([ScramUserDescription(user: "bob", credentials: [.init(mechanism: "SCRAM-SHA-512", iterations: 8192)])]))
        XCTAssertTrue(h.vt.contains("SCRAM-SHA-512"), h.screenText)
        h.effects = []
        h.press(.char("d"))
        XCTAssertTrue(h.vt.contains("delete the SCRAM-SHA-512 credential of user bob?"), h.screenText)
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.deleteUser(user: "bob", mechanisms: [.sha512]))])
        // :user delete without a mechanism: every credential the pane knows.
        h.effects = []
        h.command("user delete bob")
        h.press(.char("y"))
        XCTAssertEqual(h.effects, [.perform(.describeUsers), .perform(.deleteUser(user: "bob", mechanisms: [.sha512]))])
        h.command("user delete nobody")
        XCTAssertTrue(h.status.contains("user 'nobody' has no SCRAM credentials"), h.status)
        // Enter on a row: change its password.
        h.press(.enter)
        XCTAssertTrue(h.vt.contains("Change the password of bob"), h.screenText)
    }

    func testReadOnlyRefusesMutationsButLists() {
        let h = ConsoleHarness(width: 120, height: 30, readOnly: true)
        h.command("acl")
        XCTAssertEqual(h.effects, [.perform(.describeAcls)])
        h.receive(.acls([alice]))
        XCTAssertFalse(h.footer.contains("add ACL"), h.footer)
        h.press(.char("d"))
        XCTAssertTrue(h.status.contains("read-only: delete ACL is disabled"), h.status)
        h.command("acl add User:bob Read topic orders")
        XCTAssertTrue(h.status.contains("read-only: add ACL is disabled"), h.status)
        h.command("user set alice SCRAM-SHA-256 pw")
        XCTAssertTrue(h.status.contains("read-only: change password is disabled"), h.status)
        h.command("user")
        h.press(.char("a"))
        XCTAssertTrue(h.status.contains("read-only: add user is disabled"), h.status)
        XCTAssertEqual(h.effects, [.perform(.describeAcls), .perform(.describeUsers)])
    }

    // MARK: - Executor

    func executor(_ c: ScriptedCluster, readOnly: Bool = false) -> (ActionExecutor, EventInbox) {
        let store = SnapshotStore(.empty(bootstrap: c.displayName))
        let inbox = EventInbox()
        var ex = ActionExecutor(source: c, actions: readOnly ? nil : c, reader: c, brokerControl: nil, inbox: inbox,
                                sampler: ClusterSampler(source: c, store: store, interval: .seconds(60)))
        ex.settlePause = .milliseconds(1)
        return (ex, inbox)
    }

    func testExecutorAddsDeletesAndRereads() async throws {
        let c = ScriptedCluster()
        let (ex, inbox) = executor(c)
        let snap = ClusterSnapshot.empty(bootstrap: c.displayName)
        var text = try await ex.run(.createAcls([alice]), snapshot: snap)
        XCTAssertEqual(text, "added ACL ALLOW User:alice Read on TOPIC orders (LITERAL) from host *")
        XCTAssertEqual(inbox.drain(), [.acls([alice])])
        text = try await ex.run(.deleteAcl(alice), snapshot: snap)
        XCTAssertEqual(text, "deleted ACL ALLOW User:alice Read on TOPIC orders (LITERAL) from host *")
        XCTAssertEqual(inbox.drain(), [.acls([])])
        text = try await ex.run(.setUserPassword(user: "alice", mechanism: .sha512, password: Secret("pw"), iterations: 4096), snapshot: snap)
        XCTAssertEqual(text, "set the SCRAM-SHA-512 credential of user alice (4096 iterations)")
        XCTAssertEqual(c.passwords, ["pw"])
        XCTAssertEqual(inbox.drain(), [.users([ScramUserDescription(user: "alice", credentials: [.init(mechanism: "SCRAM-SHA-512", iterations: 4096)])])])
        text = try await ex.run(.deleteUser(user: "alice", mechanisms: [.sha512]), snapshot: snap)
        XCTAssertEqual(text, "deleted the SCRAM-SHA-512 credential of user alice")
        XCTAssertEqual(inbox.drain(), [.users([])])
        XCTAssertEqual(c.performed, ["createAcls ALLOW User:alice Read on TOPIC orders (LITERAL) from host *",
                                     "deleteAcl ALLOW User:alice Read on TOPIC orders (LITERAL) from host *",
                                     "upsert alice SCRAM-SHA-512 4096", "deleteUser alice SCRAM-SHA-512"])
    }

    func testExecutorPassesKafkaErrorsOnAndReadsInReadOnlyMode() async throws {
        let c = ScriptedCluster()
        c.aclError = .broker(code: 54, name: "SECURITY_DISABLED", context: "describe ACLs", message: "No Authorizer is configured.")
        let (ro, inbox) = executor(c, readOnly: true)
        let snap = ClusterSnapshot.empty(bootstrap: c.displayName)
        let text = try await ro.run(.describeAcls, snapshot: snap)
        XCTAssertNil(text)
        XCTAssertEqual(inbox.drain(), [.aclsFailed("describe ACLs: SECURITY_DISABLED (error 54): No Authorizer is configured.", code: 54)])
        do { _ = try await ro.run(.createAcls([alice]), snapshot: snap); XCTFail("created an ACL in read-only mode") } catch {}
        c.aclError = nil
        c.scramError = .broker(code: 31, name: "CLUSTER_AUTHORIZATION_FAILED", context: "alter SCRAM user alice", message: nil)
        let (ex, _) = executor(c)
        do {
            _ = try await ex.run(.setUserPassword(user: "alice", mechanism: .sha256, password: Secret("pw"), iterations: 8192), snapshot: snap)
            XCTFail("no error")
        } catch {
            XCTAssertEqual("\(error)", "alter SCRAM user alice: CLUSTER_AUTHORIZATION_FAILED (error 31)")
        }
    }
}
