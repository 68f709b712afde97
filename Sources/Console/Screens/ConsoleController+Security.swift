import Foundation
import KafkaClient
import TerminalUI

/// The ACL and Users panes (issue 14 item 4): every ACL binding with `:acl add` (kafka-acls.sh's
/// words) and delete-with-confirmation, and the SCRAM users with add / change password (masked
/// prompt) / delete. Like the rest of the controller: keys in, effects out, no I/O; the
/// argument parsing is pure and tested on its own.
///
/// Both panes are read when they are opened, on `r`, and after each change the console makes,
/// not on the sampler's cadence: ACLs and credentials change only by an administrator's
/// action, and a DescribeAcls + DescribeUserScramCredentials per sample would cost every
/// console (and the controller that answers them) two requests per refresh for panes that
/// are rarely on screen. The pane title says how old the list is; `r` re-reads it.
extension ConsoleController {
    // MARK: - Opening and keys

    /// Shows the ACL or Users pane (pushed unless it is the current one, as `:quorum`; a push
    /// also stops a tail) and asks for its list.
    func openSecurityPane(_ kind: PaneKind) -> [ConsoleEffect] {
        (currentPane == kind ? [] : push(kind)) + reloadSecurity(kind)
    }

    private func reloadSecurity(_ kind: PaneKind) -> [ConsoleEffect] {
        switch kind {
        case .acls: aclData.loading = true; securityVersion += 1; return [.perform(.describeAcls)]
        case .users: userData.loading = true; securityVersion += 1; return [.perform(.describeUsers)]
        default: return []
        }
    }

    /// The binding of an ACL pane row key.
    func acl(forKey key: String?) -> KafkaAcl.Binding? {
        guard let key else { return nil }
        return aclData.items?.first { Presenters.aclKey($0) == key }
    }

    func aclKey(_ key: Key, _ sel: String?, _ now: Date) -> [ConsoleEffect] {
        switch key {
        case .char("a"):
            return mutating("add ACL", now) {
                // The palette, prefilled: `:acl add` is the one grammar for adding.
                var palette = CommandPalette(commands: Self.paletteCommands)
                palette.editor.set("acl add ")
                mode = .palette(palette)
                return []
            }
        case .char("d"), .delete, .ctrl("d"):
            guard let b = acl(forKey: sel) else { return [] }
            return openDeleteAcl(b, now)
        case .char("r"): return reloadSecurity(.acls)
        default: return []
        }
    }

    func openDeleteAcl(_ b: KafkaAcl.Binding, _ now: Date) -> [ConsoleEffect] {
        mutating("delete ACL", now) {
            mode = .confirm("delete the ACL \(Self.aclText(b))? (y/n)", .deleteAcl(b))
            return []
        }
    }

    func userKey(_ key: Key, _ sel: String?, _ now: Date) -> [ConsoleEffect] {
        let parts = sel?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let user = parts?.first, mechanism = parts.flatMap { $0.count > 1 ? ScramUserMechanism(name: $0[1]) : nil }
        switch key {
        case .char("a"): return openSetUser(nil, .sha256, now)
        case .enter, .char("p"):
            guard let user else { return [] }
            return openSetUser(user, mechanism ?? .sha256, now)
        case .char("d"), .delete, .ctrl("d"):
            guard let user, let mechanism else { return [] }
            return openDeleteUser(user, [mechanism], now)
        case .char("r"): return reloadSecurity(.users)
        default: return []
        }
    }

    /// PBKDF2 iterations Kafka accepts for SCRAM credentials (ScramMechanism's min and max).
    static let scramIterations = 4096...16384

    /// The add-user / change-password dialog; the password fields are masked.
    func openSetUser(_ user: String?, _ mechanism: ScramUserMechanism, _ now: Date) -> [ConsoleEffect] {
        mutating(user == nil ? "add user" : "change password", now) {
            var form = Form(title: user.map { "Change the password of \($0)" } ?? "Add a SCRAM user", fields: [
                FormField(key: "user", label: "User", value: user ?? "", hint: "the user name (User:NAME in ACLs)") { Self.validateUserName($0) },
                FormField(key: "mechanism", label: "Mechanism", value: mechanism.name, choices: ScramUserMechanism.allCases.map(\.name)),
                FormField(key: "password", label: "Password", hint: "masked; sent only as a salted hash", masked: true) { $0.isEmpty ? "required" : nil },
                FormField(key: "confirm", label: "Again", hint: "the same password again", masked: true),
                FormField(key: "iterations", label: "Iterations", value: "8192", hint: "PBKDF2 iterations, 4096-16384") { v in
                    guard let n: Int = Self.number(v) else { return "a whole number" }
                    return Self.scramIterations.contains(n) ? nil : "4096-16384 (Kafka's limits)"
                },
            ], submitLabel: "set") { v in
                v["password"] == v["confirm"] ? nil : "the passwords differ"
            }
            // Straight to the password when the user is known.
            if user != nil { form.focus = 2 }
            mode = .form(form, .setUser)
            return []
        }
    }

    func submitUser(_ v: [String: String], _ now: Date) -> [ConsoleEffect] {
        guard let m = ScramUserMechanism(name: v["mechanism"] ?? ""), let iterations: Int = Self.number(v["iterations"]) else {
            say("mechanism and iterations are required", .error, now); return []
        }
        let user = (v["user"] ?? "").trimmingCharacters(in: .whitespaces)
        return perform(.setUserPassword(user: user, mechanism: m, password: Secret(v["password"] ?? ""), iterations: iterations), now)
    }

    func openDeleteUser(_ user: String, _ mechanisms: [ScramUserMechanism], _ now: Date) -> [ConsoleEffect] {
        mutating("delete user", now) {
            let what = mechanisms.map(\.name).joined(separator: " and ")
            mode = .confirm("delete the \(what) credential\(mechanisms.count == 1 ? "" : "s") of user \(user)? "
                            + "It can no longer log in with \(mechanisms.count == 1 ? "it" : "them"). (y/n)",
                            .deleteUser(user: user, mechanisms: mechanisms))
            return []
        }
    }

    static func validateUserName(_ n: String) -> String? {
        let t = n.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return "required" }
        if t.contains(where: { $0 == " " || $0 == "," || $0 == "=" }) { return "no spaces, ',' or '='" }
        return nil
    }

    // MARK: - Palette

    static let aclUsage = "usage: :acl add PRINCIPAL OPERATION[,OPERATION] topic|group|transactional-id NAME|cluster [allow|deny] [prefixed] [host HOST]"
        + " (or kafka-acls.sh flags: --allow-principal User:alice --operation Read --topic orders --resource-pattern-type prefixed)"

    /// `:acl` (the pane), `:acl add ...`, `:acl delete` (the selected binding).
    func runAclCommand(_ args: [String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch args.first?.lowercased() {
        case nil, "list", "ls": return openSecurityPane(.acls)
        case "add", "create":
            switch Self.parseAclAdd(Array(args.dropFirst())) {
            case .failure(let e): say(e.message, .error, now); return []
            case .success(let bindings):
                return mutating("add ACL", now) {
                    // The ACL pane behind the question, so what was added is seen listed.
                    let effects = openSecurityPane(.acls)
                    let list = bindings.prefix(5).map(Self.aclText).joined(separator: "; ") + (bindings.count > 5 ? "; and \(bindings.count - 5) more" : "")
                    mode = .confirm("add \(bindings.count == 1 ? "the ACL" : Format.plural(bindings.count, "ACL")) \(list)? (y/n)", .createAcls(bindings))
                    return effects
                }
            }
        case "delete", "remove", "rm":
            guard currentPane == .acls else { say("select the ACL to delete in the ACL pane (:acl), then :acl delete or d", .error, now); return [] }
            let t = paneTable(s, now: now)
            guard t.rowCount > 0, let b = acl(forKey: t.key(min(selectedRow, t.rowCount - 1))) else { say("no ACL selected", .error, now); return [] }
            return openDeleteAcl(b, now)
        default:
            say("unknown :acl \(args[0]); " + Self.aclUsage, .error, now); return []
        }
    }

    static let userUsage = "usage: :user set NAME [SCRAM-SHA-256|SCRAM-SHA-512 [PASSWORD]] | :user delete NAME [MECHANISM]"

    /// `:user` (the pane), `:user set NAME [MECHANISM [PASSWORD]]`, `:user delete NAME [MECHANISM]`.
    func runUserCommand(_ args: [String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch Self.parseUserCommand(args) {
        case .failure(let e): say(e.message, .error, now); return []
        case .success(.list): return openSecurityPane(.users)
        case .success(.set(let user, let m, let password)):
            return mutating(password == nil ? "add user" : "change password", now) {
                let effects = openSecurityPane(.users)
                guard let password else { return effects + openSetUser(user, m, now) }
                return effects + perform(.setUserPassword(user: user, mechanism: m, password: Secret(password), iterations: 8192), now)
            }
        case .success(.delete(let user, let m)):
            // No mechanism: every credential the pane knows of the user (SCRAM-SHA-256 when unknown).
            let known = userData.items?.first { $0.user == user }?.credentials.compactMap { ScramUserMechanism(name: $0.mechanism) } ?? []
            if m == nil, userData.items != nil, known.isEmpty { say("user '\(user)' has no SCRAM credentials", .error, now); return [] }
            return mutating("delete user", now) { openSecurityPane(.users) + openDeleteUser(user, m.map { [$0] } ?? (known.isEmpty ? [.sha256] : known), now) }
        }
    }

    enum UserCommand: Equatable {
        case list
        case set(String, ScramUserMechanism, password: String?)
        case delete(String, ScramUserMechanism?)
    }

    /// "SCRAM-SHA-256", "scram-sha-512", "sha-256", "sha512", "256".
    static func scramMechanism(_ text: String) -> ScramUserMechanism? {
        let t = text.uppercased()
        if let m = ScramUserMechanism(name: t) { return m }
        switch t.replacingOccurrences(of: "-", with: "") {
        case "SHA256", "256": return .sha256
        case "SHA512", "512": return .sha512
        default: return nil
        }
    }

    static func parseUserCommand(_ args: [String]) -> Result<UserCommand, CommandError> {
        guard let verb = args.first?.lowercased() else { return .success(.list) }
        switch verb {
        case "list", "ls": return .success(.list)
        case "set", "add", "passwd", "password":
            guard args.count >= 2, args.count <= 4 else { return .failure(CommandError(message: userUsage)) }
            if let e = validateUserName(args[1]) { return .failure(CommandError(message: "user name: \(e)")) }
            var m = ScramUserMechanism.sha256
            if args.count >= 3 {
                guard let parsed = scramMechanism(args[2]) else {
                    return .failure(CommandError(message: "mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not '\(args[2])'"))
                }
                m = parsed
            }
            return .success(.set(args[1], m, password: args.count == 4 ? args[3] : nil))
        case "delete", "remove", "rm":
            guard args.count == 2 || args.count == 3 else { return .failure(CommandError(message: userUsage)) }
            if args.count == 3 {
                guard let m = scramMechanism(args[2]) else {
                    return .failure(CommandError(message: "mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not '\(args[2])'"))
                }
                return .success(.delete(args[1], m))
            }
            return .success(.delete(args[1], nil))
        default: return .failure(CommandError(message: "unknown :user \(args[0]); " + userUsage))
        }
    }

    /// `:acl add`'s arguments: kafka-acls.sh's flags (`--allow-principal User:alice --operation
    /// Read --topic orders --resource-pattern-type prefixed --allow-host H`) or the same words
    /// without dashes in any order (`User:alice read,write topic orders prefixed deny`). A word
    /// with ':' is a principal (Type:name); operations may be comma-separated; the permission
    /// is ALLOW, the host `*` and the pattern LITERAL unless given. One resource and one
    /// permission per command; the result is every principal x host x operation.
    static func parseAclAdd(_ args: [String]) -> Result<[KafkaAcl.Binding], CommandError> {
        func fail(_ m: String) -> Result<[KafkaAcl.Binding], CommandError> { .failure(CommandError(message: m)) }
        var principals: [String] = [], hosts: [String] = [], ops: [KafkaAcl.Operation] = []
        var permission: KafkaAcl.Permission?
        var pattern: KafkaAcl.PatternType?
        var resources: [(KafkaAcl.ResourceType, String)] = []
        func setPermission(_ p: KafkaAcl.Permission) -> String? {
            if let permission, permission != p { return "one permission per :acl add (both allow and deny given)" }
            permission = p; return nil
        }
        func addOps(_ text: String) -> String? {
            for word in text.split(separator: ",").map(String.init) {
                guard let op = KafkaAcl.Operation(name: word), op != .any else {
                    return "unknown operation '\(word)': Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All"
                }
                if !ops.contains(op) { ops.append(op) }
            }
            return nil
        }
        var i = 0
        while i < args.count {
            let word = args[i], flag = word.lowercased()
            let bare = flag.hasPrefix("--") ? String(flag.dropFirst(2)) : flag
            func value() -> String? {
                guard i + 1 < args.count else { return nil }
                i += 1; return args[i]
            }
            var problem: String?
            switch bare {
            case "allow-principal", "deny-principal", "principal":
                guard let p = value() else { return fail("\(word) needs a principal (User:alice)") }
                principals.append(p)
                if bare != "principal" { problem = setPermission(bare == "allow-principal" ? .allow : .deny) }
            case "operation", "op", "operations":
                guard let o = value() else { return fail("\(word) needs an operation") }
                problem = addOps(o)
            case "topic", "group", "transactional-id", "transactionalid", "txn":
                guard let n = value(), !n.isEmpty else { return fail("\(word) needs a name") }
                let type: KafkaAcl.ResourceType = bare == "topic" ? .topic : (bare == "group" ? .group : .transactionalId)
                resources.append((type, n))
            case "cluster": resources.append((.cluster, "kafka-cluster"))
            case "resource-pattern-type", "pattern", "pattern-type":
                guard let p = value() else { return fail("\(word) needs literal or prefixed") }
                guard let t = KafkaAcl.PatternType(name: p), t == .literal || t == .prefixed else {
                    return fail("the pattern type of an ACL is literal or prefixed, not '\(p)'")
                }
                if let pattern, pattern != t { return fail("both literal and prefixed given") }
                pattern = t
            case "prefixed", "literal":
                let t: KafkaAcl.PatternType = bare == "prefixed" ? .prefixed : .literal
                if let pattern, pattern != t { return fail("both literal and prefixed given") }
                pattern = t
            case "allow-host", "deny-host", "host":
                guard let h = value(), !h.isEmpty else { return fail("\(word) needs a host (an IP address or *)") }
                hosts.append(h)
                if bare != "host" { problem = setPermission(bare == "allow-host" ? .allow : .deny) }
            case "allow", "deny": problem = setPermission(bare == "allow" ? .allow : .deny)
            default:
                if flag.hasPrefix("--") { return fail("unknown flag \(word); " + aclUsage) }
                if word.contains(":") { principals.append(word) } else { problem = addOps(word) }
            }
            if let problem { return fail(problem) }
            i += 1
        }
        if principals.isEmpty { return fail("give a principal (User:alice); " + aclUsage) }
        for p in principals {
            let parts = p.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty { return fail("a principal is Type:name (User:alice), not '\(p)'") }
        }
        if ops.isEmpty { return fail("give an operation (Read, Write, Describe, ...); " + aclUsage) }
        guard let (type, name) = resources.first else { return fail("give the resource: topic NAME, group NAME, transactional-id NAME or cluster; " + aclUsage) }
        if resources.count > 1 { return fail("one resource per :acl add") }
        var out: [KafkaAcl.Binding] = []
        for principal in principals {
            for host in hosts.isEmpty ? ["*"] : hosts {
                for op in ops {
                    let b = KafkaAcl.Binding(resourceType: type, resourceName: name, patternType: pattern ?? .literal,
                                             principal: principal, host: host, operation: op, permission: permission ?? .allow)
                    if !out.contains(b) { out.append(b) }
                }
            }
        }
        return .success(out)
    }

    /// "ALLOW User:alice Read on TOPIC orders (PREFIXED) from host *", kafka-acls.sh's words.
    static func aclText(_ b: KafkaAcl.Binding) -> String {
        "\(b.permission.name) \(b.principal) \(b.operation.name) on \(b.resourceType.name) \(b.resourceName)"
            + " (\(b.patternType.name)) from host \(b.host)"
    }
}

/// The ACL or Users pane's list: nil items until the first answer.
struct SecurityData<Item> {
    var items: [Item]?
    /// The last read's failure (the items, if any, are older).
    var error: String?
    /// Kafka's error code of that failure (54 SECURITY_DISABLED: the broker has no authorizer).
    var code: Int16?
    var readAt: Date?
    /// A read is under way.
    var loading = false

    static var securityDisabled: Int16 { 54 }

    mutating func received(_ items: [Item], now: Date) {
        self.items = items; error = nil; code = nil; readAt = now; loading = false
    }

    mutating func failed(_ text: String, code: Int16?, now: Date) {
        error = text; self.code = code; loading = false
        // No authorizer: no list at all, whatever was shown before.
        if code == Self.securityDisabled { items = nil }
    }
}
