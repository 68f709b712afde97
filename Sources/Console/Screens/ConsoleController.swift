import Foundation
import TerminalUI

/// The console's controller: navigation stack, modes (filter, palette, help, dialogs),
/// the key map, and frame layout. It turns keys into `ConsoleEffect`s for the runtime and
/// asks presenters for tables; it never performs I/O, so whole screens are tested on a
/// `VirtualTerminal` with fixture snapshots.
///
/// Layering: controller -> presenters (pure) -> widgets (TerminalUI).
/// Concurrency: not Sendable; owned and driven by the UI thread.
public final class ConsoleController {
    struct PaneEntry {
        var kind: PaneKind
        var table = TableState()
        var filter = ""
    }

    enum FormPurpose {
        case createTopic
        case deleteTopic(String)
        case produce(topic: String, partition: Int32?)
        case resetOffsets(group: String)
        case alterConfig(topic: String)
        case seek(topic: String, partition: Int32?)
        case addPartitions(topic: String)
        case deleteGroup(String)
        case produceMessage(topic: String)
        case setConfig(ConfigTarget, key: String)
        case addConfig(ConfigTarget)
        case copyMessage(ConsoleMessage, topic: String)
        case export(topic: String)
    }

    enum Mode {
        case normal
        case filter(LineEditor)
        case palette(CommandPalette)
        case help
        case form(Form, FormPurpose)
        case confirm(String, ConsoleAction)
        case preview(OffsetResetPlan, TableState)
        case detail(String, [String], Int)
    }

    public let readOnly: Bool
    /// True when brokers are local processes the console may stop, start and restart.
    public let brokerControl: Bool
    public private(set) var themes: [Theme]
    public private(set) var themeIndex: Int
    var stack: [PaneEntry] = [PaneEntry(kind: .topics)]
    var mode: Mode = .normal
    var flash: (text: String, role: Role, at: Date)?
    var messages: [ConsoleMessage] = []
    var tail: TailRequest?
    var tailError: String?
    /// The dialog whose action is in flight (see `receive(.actionFailed)`).
    var pendingForm: (form: Form, purpose: FormPurpose, action: ConsoleAction)?
    private var nextTailId = 1
    private var pageHeight = 10
    private var cache: (sequence: Int, kind: PaneKind, filter: String, extra: Int, table: PaneTable)?
    /// Maximum messages kept in the Messages pane (oldest dropped).
    public var messageLimit = 2000
    /// Configs panes' data per topic/broker, read on demand (not by the sampler).
    var configData: [ConfigTarget: ConfigData] = [:]
    /// Bumped when `configData` changes, so the pane cache rebuilds.
    var configVersion = 0
    /// Tabs and table rows of the last frame, for mouse clicks.
    var mouseTargets = MouseTargets()

    public init(readOnly: Bool, brokerControl: Bool, themes: [Theme] = [Theme.builtinDefault], themeIndex: Int = 0, initialPane: PaneKind = .topics) {
        self.readOnly = readOnly; self.brokerControl = brokerControl
        self.themes = themes.isEmpty ? [Theme.builtinDefault] : themes
        self.themeIndex = min(max(0, themeIndex), self.themes.count - 1)
        stack = [PaneEntry(kind: initialPane)]
    }

    public var theme: Theme { themes[themeIndex] }
    public var currentPane: PaneKind { stack[stack.count - 1].kind }
    public var currentFilter: String { stack[stack.count - 1].filter }
    public var selectedRow: Int { stack[stack.count - 1].table.selected }

    // MARK: - Keys

    static let paletteCommands: [PaletteCommand] = [
        PaletteCommand("brokers", aliases: ["b", "br", "nodes"], summary: "brokers: status, controller, leaders, log dirs"),
        PaletteCommand("topics", aliases: ["t", "to"], summary: "topics: partitions, URP, size, rate, retention"),
        PaletteCommand("groups", aliases: ["g", "cg", "consumers"], summary: "consumer groups: lag, trend, verdict"),
        PaletteCommand("partitions", aliases: ["p", "parts"], summary: "partitions TOPIC: leader, ISR, offsets"),
        PaletteCommand("group", aliases: [], summary: "group ID: a group's partitions and lag"),
        PaletteCommand("members", aliases: [], summary: "members GROUP: member, instance and client ids, hosts, assignment"),
        PaletteCommand("messages", aliases: ["m", "tail"], summary: "messages TOPIC [PARTITION]: live tail"),
        PaletteCommand("create-topic", aliases: ["create", "new"], summary: "create a topic (dialog)"),
        PaletteCommand("delete-topic", aliases: ["delete"], summary: "delete TOPIC (type its name to confirm)"),
        PaletteCommand("add-partitions", aliases: [], summary: "add partitions to TOPIC"),
        PaletteCommand("produce", aliases: [], summary: "produce one message (key, value, headers) to TOPIC"),
        PaletteCommand("load", aliases: ["generate"], summary: "generate test load on TOPIC (count, size, rate)"),
        PaletteCommand("export", aliases: [], summary: "export TOPIC [PARTITION] messages as JSON lines to a file"),
        PaletteCommand("reset-offsets", aliases: ["reset"], summary: "reset GROUP's offsets, with a preview"),
        PaletteCommand("delete-group", aliases: [], summary: "delete GROUP (no active members; type its name)"),
        PaletteCommand("configs", aliases: ["config", "cfg"], summary: "configs TOPIC | configs broker ID: every config, its source; edit"),
        PaletteCommand("alter-config", aliases: [], summary: "set a config key on TOPIC"),
        PaletteCommand("theme", aliases: [], summary: "theme NAME, or cycle themes"),
        PaletteCommand("refresh", aliases: ["r"], summary: "sample the cluster now"),
        PaletteCommand("help", aliases: ["h"], summary: "keys of the current pane"),
        PaletteCommand("quit", aliases: ["q", "exit"], summary: "leave the console"),
    ]

    /// Handles one key and returns what the runtime should do.
    public func handle(_ key: Key, snapshot: ClusterSnapshot, now: Date) -> [ConsoleEffect] {
        if key == .ctrl("c") { return [.quit] }
        if key == .resize { cache = nil; return [] }
        if case .mouse(let e) = key { return handleMouse(e, snapshot, now) }
        switch mode {
        case .normal: return handleNormal(key, snapshot, now)
        case .filter(var editor):
            switch key {
            case .escape: mode = .normal; setFilter("")
            case .enter: mode = .normal
            default:
                _ = editor.handle(key)
                mode = .filter(editor)
                setFilter(editor.text)
            }
            return []
        case .palette(var palette):
            switch palette.handle(key) {
            case .none: mode = .palette(palette); return []
            case .cancel: mode = .normal; return []
            case .unknown(let w): mode = .normal; say("unknown command :\(w) (press : then Tab to see commands)", .error, now); return []
            case .ambiguous(let w, let names):
                mode = .normal
                say(":\(w) is ambiguous: " + names.map { ":" + $0 }.joined(separator: ", "), .error, now); return []
            case .run(let cmd, let args): mode = .normal; return runCommand(cmd, args, snapshot, now)
            }
        case .help:
            if key == .escape || key == .char("?") || key == .char("q") || key == .enter { mode = .normal }
            return []
        case .form(var form, let purpose):
            switch form.handle(key) {
            case .none: mode = .form(form, purpose); return []
            case .cancel: mode = .normal; return []
            case .submit(let values):
                mode = .normal
                let effects = submit(purpose, values, snapshot, now)
                // Kept until the outcome arrives: a refused action reopens the dialog with
                // the broker's error instead of losing what was typed.
                pendingForm = effects.lazy.compactMap { e -> (Form, FormPurpose, ConsoleAction)? in
                    if case .perform(let a) = e { return (form, purpose, a) } else { return nil }
                }.first
                return effects
            }
        case .confirm(_, let action):
            if key == .char("y") || key == .char("Y") { mode = .normal; return perform(action, now) }
            if key == .char("n") || key == .char("N") || key == .escape { mode = .normal; say("cancelled", .dim, now) }
            return []
        case .preview(let plan, var state):
            switch key {
            case .escape, .char("n"), .char("q"): mode = .normal; say("offset reset cancelled", .dim, now)
            case .enter, .char("y"):
                // The preview already says Kafka will refuse: do not offer to try.
                if plan.activeMembers > 0 {
                    say("not executed: \(plan.request.group) has \(Format.plural(plan.activeMembers, "active member")); stop its consumers, then reset", .warn, now)
                    return []
                }
                mode = .normal; return perform(.executeOffsetReset(plan), now)
            default: _ = state.handle(key, rowCount: plan.rows.count, pageHeight: 10); mode = .preview(plan, state)
            }
            return []
        case .detail(let title, let lines, let scroll):
            switch key {
            case .escape, .enter, .char("q"): mode = .normal
            case .down, .char("j"): mode = .detail(title, lines, min(max(0, lines.count - 1), scroll + 1))
            case .up, .char("k"): mode = .detail(title, lines, max(0, scroll - 1))
            case .pageDown: mode = .detail(title, lines, min(max(0, lines.count - 1), scroll + 10))
            case .pageUp: mode = .detail(title, lines, max(0, scroll - 10))
            default: break
            }
            return []
        }
    }

    private func handleNormal(_ key: Key, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch key {
        case .char("q"): return [.quit]
        case .char(":"): mode = .palette(CommandPalette(commands: Self.paletteCommands)); return []
        case .char("/"): mode = .filter(LineEditor(currentFilter)); return []
        case .char("?"): mode = .help; return []
        case .ctrl("r"): say("refreshing", .dim, now); return [.refresh]
        case .char("T"): return cycleTheme(now)
        case .escape: return back()
        case .tab, .backTab:
            let top = PaneKind.topLevel
            let i = top.firstIndex(of: stack[0].kind) ?? 0
            return goTop(top[(i + (key == .tab ? 1 : top.count - 1)) % top.count])
        case .char("1"): return goTop(.brokers)
        case .char("2"): return goTop(.topics)
        case .char("3"): return goTop(.groups)
        default: break
        }
        let table = paneTable(s, now: now)
        if stack[stack.count - 1].table.handle(key, rowCount: table.rowCount, pageHeight: pageHeight) { return [] }
        let selectedKey = table.rowCount > 0 ? table.key(min(selectedRow, table.rowCount - 1)) : nil
        return paneKey(key, selectedKey, table, s, now)
    }

    private func paneKey(_ key: Key, _ sel: String?, _ table: PaneTable, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch (currentPane, key) {
        case (.topics, .enter): if let sel { return push(.partitions(topic: sel)) }
        case (.topics, .char("m")): if let sel { return openMessages(sel, nil) }
        case (.topics, .char("c")): return openCreateTopic(s, now)
        case (.topics, .char("d")), (.topics, .ctrl("d")): if let sel { return openDelete(sel, s, now) }
        case (.topics, .char("p")): if let sel { return openProduceMessage(sel, nil, s, now) }
        case (.topics, .char("P")): if let sel { return openProduce(sel, nil, now) }
        case (.topics, .char("e")): if let sel { return openConfigs(.topic(sel), now) }
        case (.topics, .char("+")): if let sel { return openAddPartitions(sel, s, now) }
        case (.partitions(let t), .enter), (.partitions(let t), .char("m")):
            if let sel, let p = Int32(sel) { return openMessages(t, p) }
        case (.partitions(let t), .char("p")): return openProduceMessage(t, sel.flatMap { Int32($0) }, s, now)
        case (.partitions(let t), .char("P")): return openProduce(t, sel.flatMap { Int32($0) }, now)
        case (.partitions(let t), .char("e")): return openConfigs(.topic(t), now)
        case (.partitions(let t), .char("+")): return openAddPartitions(t, s, now)
        case (.groups, .enter): if let sel { return push(.groupPartitions(group: sel)) }
        case (.groups, .char("o")): if let sel { return openReset(sel, nil, now) }
        case (.groups, .char("M")): if let sel { return push(.groupMembers(group: sel)) }
        case (.groups, .char("d")), (.groups, .ctrl("d")): if let sel { return openDeleteGroup(sel, s, now) }
        case (.groupPartitions(let g), .char("M")): return push(.groupMembers(group: g))
        case (.groupPartitions(let g), .char("d")), (.groupMembers(let g), .char("d")): return openDeleteGroup(g, s, now)
        case (.groupMembers(let g), .char("o")): return openReset(g, nil, now)
        case (.configs(let target), _): return configKey(target, key, sel, s, now)
        case (.brokers, .char("e")): if let sel, let id = Int32(sel) { return openConfigs(.broker(id), now) }
        case (.groupPartitions(let g), .char("o")):
            return openReset(g, sel.flatMap { $0.split(separator: "\t").first.map(String.init) }, now)
        case (.groupPartitions, .enter), (.groupPartitions, .char("m")):
            if let parts = sel?.split(separator: "\t"), parts.count == 2, let p = Int32(parts[1]) { return openMessages(String(parts[0]), p) }
        case (.messages, .enter):
            if let sel, let m = message(forKey: sel) { mode = .detail("Message \(m.partition)/\(m.offset)", Presenters.messageDetail(m), 0) }
        case (.messages(let t, let p), .char("s")): return openSeek(t, p, now)
        case (.messages(let t, let p), .char("p")): return openProduceMessage(t, p, s, now)
        case (.messages(let t, let p), .char("P")): return openProduce(t, p, now)
        case (.messages(let t, _), .char("c")): if let sel, let m = message(forKey: sel) { return openCopy(m, topic: t, now) }
        case (.messages(let t, let p), .char("w")): return openExport(t, p, now)
        case (.brokers, .char("x")), (.brokers, .char("s")), (.brokers, .char("r")):
            guard let sel, let id = Int32(sel) else { return [] }
            guard brokerControl else { say("broker control needs a local cluster started by samsa demo", .warn, now); return [] }
            let op: BrokerOperation = key == .char("x") ? .stop : (key == .char("s") ? .start : .restart)
            return mutating(op.rawValue + " broker", now) {
                mode = .confirm("\(op.rawValue) broker \(id)? (y/n)", .broker(op, id: id))
                return []
            }
        default: break
        }
        return []
    }

    func message(forKey k: String) -> ConsoleMessage? {
        let parts = k.split(separator: "\t")
        guard parts.count == 2, let p = Int32(parts[0]), let o = Int64(parts[1]) else { return nil }
        return messages.first { $0.partition == p && $0.offset == o }
    }

    private func runCommand(_ cmd: String, _ args: [String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        let arg = args.first
        switch cmd {
        case "brokers": return goTop(.brokers)
        case "topics": return goTop(.topics)
        case "groups": return goTop(.groups)
        case "partitions":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :partitions TOPIC", .error, now); return [] }
            guard topicExists(t, s, now) else { return [] }
            return push(.partitions(topic: t))
        case "group":
            guard let g = arg else { say("usage: :group GROUP", .error, now); return [] }
            guard groupExists(g, s, now) else { return [] }
            return push(.groupPartitions(group: g))
        case "messages":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :messages TOPIC [PARTITION]", .error, now); return [] }
            // A bad partition used to be dropped silently, tailing every partition instead.
            if args.count > 1, Int32(args[1]).map({ $0 < 0 }) ?? true {
                say("partition must be a number >= 0, not '\(args[1])'", .error, now); return []
            }
            guard topicExists(t, s, now) else { return [] }
            return openMessages(t, args.count > 1 ? Int32(args[1]) : nil)
        case "create-topic": return openCreateTopic(s, now)
        case "delete-topic":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :delete-topic TOPIC", .error, now); return [] }
            // An internal topic gets its own refusal, whether or not metadata lists it.
            guard Self.deletionRefusal(t, s) != nil || topicExists(t, s, now) else { return [] }
            return openDelete(t, s, now)
        case "configs" where args.first == "broker" && args.count == 2, "configs" where arg == nil && currentPane == .brokers:
            var id = args.count == 2 ? Int32(args[1]) : nil
            if arg == nil { let t = paneTable(s, now: now); if t.rowCount > 0 { id = Int32(t.key(min(selectedRow, t.rowCount - 1))) } }
            guard let id else { say("usage: :configs broker BROKER-ID", .error, now); return [] }
            if s.hasData, !s.brokers.contains(where: { $0.id == id }) { say("broker \(id) does not exist in this cluster", .error, now); return [] }
            return openConfigs(.broker(id), now)
        case "produce", "load", "add-partitions", "configs":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :\(cmd) TOPIC", .error, now); return [] }
            guard topicExists(t, s, now) else { return [] }
            switch cmd {
            case "produce": return openProduceMessage(t, nil, s, now)
            case "load": return openProduce(t, nil, now)
            case "add-partitions": return openAddPartitions(t, s, now)
            default: return openConfigs(.topic(t), now)
            }
        case "export":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :export TOPIC [PARTITION]", .error, now); return [] }
            guard topicExists(t, s, now) else { return [] }
            if args.count > 1, Int32(args[1]).map({ $0 < 0 }) ?? true { say("partition must be a number >= 0, not '\(args[1])'", .error, now); return [] }
            return openExport(t, args.count > 1 ? Int32(args[1]) : nil, now)
        case "members", "delete-group":
            var g = arg
            if g == nil { g = selectedGroup(s, now) }
            guard let g else { say("usage: :\(cmd) GROUP", .error, now); return [] }
            guard groupExists(g, s, now) else { return [] }
            return cmd == "members" ? push(.groupMembers(group: g)) : openDeleteGroup(g, s, now)
        case "reset-offsets":
            guard let g = arg ?? selectedGroup(s, now) else { say("usage: :reset-offsets GROUP", .error, now); return [] }
            guard groupExists(g, s, now) else { return [] }
            return openReset(g, nil, now)
        case "alter-config":
            guard let t = arg ?? selectedTopic(s, now) else { say("usage: :alter-config TOPIC", .error, now); return [] }
            guard topicExists(t, s, now) else { return [] }
            return openAlterConfig(t, s, now)
        case "theme":
            if let name = arg {
                guard let i = themes.firstIndex(where: { $0.name == name }) else {
                    say("no theme '\(name)'; loaded: \(themes.map(\.name).joined(separator: ", "))", .error, now); return []
                }
                themeIndex = i; say("theme \(name)", .dim, now); return []
            }
            return cycleTheme(now)
        case "refresh": return [.refresh]
        case "help": mode = .help; return []
        case "quit": return [.quit]
        default: return []
        }
    }

    /// False (and says so) when the cluster's metadata is known and has no such topic. Every
    /// palette command that names a topic checks this: `:partitions no.such` opened an
    /// empty pane while `:messages no.such` was refused.
    func topicExists(_ t: String, _ s: ClusterSnapshot, _ now: Date) -> Bool {
        guard s.hasData, s.topic(named: t) == nil else { return true }
        say("topic '\(t)' does not exist in this cluster", .error, now)
        return false
    }

    /// As `topicExists`, for groups (only once the groups section has been read).
    func groupExists(_ g: String, _ s: ClusterSnapshot, _ now: Date) -> Bool {
        guard s.sectionTimes[.groups] != nil, s.group(id: g) == nil else { return true }
        say("group '\(g)' does not exist in this cluster", .error, now)
        return false
    }

    /// The group the current pane is about (its own, or the selected row of Groups).
    private func selectedGroup(_ s: ClusterSnapshot, _ now: Date) -> String? {
        switch currentPane {
        case .groupPartitions(let g), .groupMembers(let g): return g
        case .groups: let t = paneTable(s, now: now); return t.rowCount > 0 ? t.key(min(selectedRow, t.rowCount - 1)) : nil
        default: return nil
        }
    }

    private func selectedTopic(_ s: ClusterSnapshot, _ now: Date) -> String? {
        switch currentPane {
        case .topics: let t = paneTable(s, now: now); return t.rowCount > 0 ? t.key(min(selectedRow, t.rowCount - 1)) : nil
        case .partitions(let t), .messages(let t, _), .configs(.topic(let t)): return t
        default: return nil
        }
    }

    // MARK: - Navigation

    func goTop(_ kind: PaneKind) -> [ConsoleEffect] {
        let stopTail = tail != nil
        stack = [PaneEntry(kind: kind)]
        return leaveMessages(stopTail)
    }

    func push(_ kind: PaneKind) -> [ConsoleEffect] {
        let stopTail = tail != nil
        stack.append(PaneEntry(kind: kind))
        return leaveMessages(stopTail)
    }

    private func back() -> [ConsoleEffect] {
        if !currentFilter.isEmpty { setFilter(""); return [] }
        guard stack.count > 1 else { return [] }
        let wasMessages: Bool
        if case .messages = currentPane { wasMessages = true } else { wasMessages = false }
        stack.removeLast()
        return leaveMessages(wasMessages)
    }

    private func leaveMessages(_ stop: Bool) -> [ConsoleEffect] {
        guard stop else { return [] }
        if case .messages = currentPane { return [] }
        tail = nil; messages = []
        return [.tail(nil)]
    }

    private func openMessages(_ topic: String, _ partition: Int32?, start: TailStart = .latest(50)) -> [ConsoleEffect] {
        if case .messages = currentPane { stack.removeLast() }
        stack.append(PaneEntry(kind: .messages(topic: topic, partition: partition)))
        messages = []; tailError = nil
        let req = TailRequest(topic: topic, partition: partition, start: start, id: nextTailId)
        nextTailId += 1
        tail = req
        return [.tail(req)]
    }

    private func setFilter(_ f: String) {
        stack[stack.count - 1].filter = f
        stack[stack.count - 1].table = TableState()
    }

    private func cycleTheme(_ now: Date) -> [ConsoleEffect] {
        themeIndex = (themeIndex + 1) % themes.count
        say("theme \(theme.name)", .dim, now)
        return []
    }

    func say(_ text: String, _ role: Role, _ now: Date) { flash = (text, role, now) }

    func mutating(_ what: String, _ now: Date, _ body: () -> [ConsoleEffect]) -> [ConsoleEffect] {
        if readOnly { say("read-only: \(what) is disabled (started with --read-only)", .warn, now); return [] }
        return body()
    }

    func perform(_ action: ConsoleAction, _ now: Date) -> [ConsoleEffect] {
        if readOnly && action.isMutation { say("read-only: mutations are disabled", .warn, now); return [] }
        say(Self.progressText(action), .dim, now)
        return [.perform(action)]
    }

    static func progressText(_ a: ConsoleAction) -> String {
        switch a {
        case .createTopic(let n, _, _, _): "creating topic \(n)…"
        case .deleteTopic(let n): "deleting topic \(n)…"
        case .alterTopicConfig(let t, let k, let v): "setting \(k)=\(v) on \(t)…"
        case .produce(let p): "producing \(Format.plural(p.count, "message")) to \(p.topic)…"
        case .planOffsetReset(let r): "computing offset reset preview for \(r.group)…"
        case .executeOffsetReset(let p): "resetting offsets of \(p.request.group)…"
        case .broker(let op, let id): "\(op.rawValue) broker \(id)…"
        case .addPartitions(let t, let n): "adding partitions to \(t) (total \(n))…"
        case .deleteGroup(let g): "deleting group \(g)…"
        case .produceMessage(let m): "producing a message to \(m.topic)…"
        case .describeConfigs(let target): "reading configs of \(target)…"
        case .setConfig(let target, let k, let v): "setting \(k)=\(v) on \(target)…"
        case .deleteConfig(let target, let k): "removing the override of \(k) on \(target)…"
        case .exportMessages(let e): "exporting messages of \(e.topic) to \(e.path)…"
        case .writeFile(let path, _, let what): "writing \(what) to \(path)…"
        }
    }

    // MARK: - Dialogs

    /// Kafka's topic name rule: 1-249 of [a-zA-Z0-9._-], not "." or "..".
    static func validateTopicName(_ n: String) -> String? {
        if n.isEmpty { return "required" }
        if n == "." || n == ".." { return "'.' and '..' are not allowed" }
        if n.count > 249 { return "at most 249 characters" }
        if n.unicodeScalars.contains(where: { !(CharacterSet.alphanumerics.contains($0) && $0.isASCII) && $0 != "." && $0 != "_" && $0 != "-" }) {
            return "only ASCII letters, digits, '.', '_' and '-'"
        }
        return nil
    }

    static func positiveInt(_ max: Int) -> @Sendable (String) -> String? {
        { v in
            guard let n = Int(v.trimmingCharacters(in: .whitespaces)) else { return "a whole number" }
            return n < 1 ? "at least 1" : (n > max ? "at most \(max)" : nil)
        }
    }

    /// Parses "k=v,k2=v2" (Kafka's --config style); nil input error message on failure.
    static func parseConfigs(_ s: String) -> Result<[String: String], ConfigParseError> {
        var out: [String: String] = [:]
        for item in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { return .failure(ConfigParseError(item: item)) }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return .success(out)
    }
    struct ConfigParseError: Error { var item: String }

    private func openCreateTopic(_ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("create topic", now) {
            let brokers = max(1, s.brokers.filter { $0.status != .down }.count)
            let existing = Set(s.topics.map(\.name))
            mode = .form(Form(title: "Create topic", fields: [
                FormField(key: "name", label: "Name", hint: "letters, digits, . _ -") { n in
                    if let e = Self.validateTopicName(n) { return e }
                    if existing.contains(n) { return "topic already exists" }
                    // Kafka refuses names that differ only in '.' vs '_' (their metric names collide).
                    let norm = { (t: String) in t.replacingOccurrences(of: ".", with: "_") }
                    if let other = existing.first(where: { norm($0) == norm(n) }) { return "collides with \(other) ('.' and '_' are the same in metrics)" }
                    return nil
                },
                FormField(key: "partitions", label: "Partitions", value: "3",
                          hint: "above \(Self.grouped(Self.partitionConfirmThreshold)) asks to confirm", validate: Self.positiveInt(100_000)),
                FormField(key: "rf", label: "Replication factor", value: "\(min(3, brokers))",
                          hint: "at most \(brokers) (live brokers)", validate: Self.positiveInt(brokers)),
                FormField(key: "configs", label: "Configs", hint: "e.g. retention.ms=3600000,cleanup.policy=compact") { c in
                    if case .failure(let e) = Self.parseConfigs(c) { return "'\(e.item)' is not key=value" }
                    return nil
                },
            ], submitLabel: "create"), .createTopic)
            return []
        }
    }

    /// Kafka's internal topics (`Topic.isInternal`) and the KRaft metadata log: the console
    /// never offers to delete them (a deleted `__consumer_offsets` silently loses every
    /// group's offsets; Samsa's broker refuses it too, Kafka's only in kafka-topics.sh).
    static let undeletableTopics: Set<String> = ["__consumer_offsets", "__transaction_state", "__share_group_state", "__cluster_metadata"]

    /// Why the console will not delete `topic`, or nil.
    static func deletionRefusal(_ topic: String, _ s: ClusterSnapshot) -> String? {
        guard undeletableTopics.contains(topic) || s.topic(named: topic)?.isInternal == true else { return nil }
        return "\(topic) is a Kafka internal topic: deleting it is not allowed (consumer groups would lose their offsets)"
    }

    /// Partition counts above this ask for confirmation (each partition costs the broker
    /// files, memory and recovery time; a typo of 20000 for 200 once wedged a broker).
    static let partitionConfirmThreshold = 1_000

    /// 20000 -> "20,000": counts a user confirms must be exact.
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    private func openDelete(_ topic: String, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        if let reason = Self.deletionRefusal(topic, s) { say(reason, .warn, now); return [] }
        return mutating("delete topic", now) {
            mode = .form(Form(title: "Delete topic \(topic)", fields: [
                FormField(key: "confirm", label: "Type name", hint: "type \(topic) to delete it and all its data") { v in
                    v == topic ? nil : "does not match the topic name"
                },
            ], submitLabel: "delete"), .deleteTopic(topic))
            return []
        }
    }

    private func openProduce(_ topic: String, _ partition: Int32?, _ now: Date) -> [ConsoleEffect] {
        mutating("produce", now) {
            mode = .form(Form(title: "Produce to \(topic)" + (partition.map { " partition \($0)" } ?? ""), fields: [
                FormField(key: "count", label: "Messages", value: "100", validate: Self.positiveInt(10_000_000)),
                FormField(key: "size", label: "Value bytes", value: "100", validate: Self.positiveInt(1_000_000)),
                FormField(key: "key", label: "Key pattern", value: "key-{n}", hint: "{n} = message number; empty = no key"),
                FormField(key: "rate", label: "Rate msg/s", value: "0", hint: "0 = as fast as possible") { v in
                    // Double("inf") parses, and an infinite rate trapped in the pacing maths.
                    guard let r = Double(v.trimmingCharacters(in: .whitespaces)), r.isFinite, r >= 0 else { return "a number >= 0" }
                    return r > ProduceSpec.maxRate ? "at most \(Int(ProduceSpec.maxRate))" : nil
                },
            ], submitLabel: "produce", validateAll: { v in
                // 10,000,000 x 1 MB would be 10 TB built in memory batch by batch: cap the total.
                let total = (Int(v["count"] ?? "") ?? 0).multipliedReportingOverflow(by: Int(v["size"] ?? "") ?? 0)
                return total.overflow || total.partialValue > ProduceSpec.maxTotalBytes
                    ? "Messages x Value bytes is at most \(Format.bytes(Int64(ProduceSpec.maxTotalBytes))) per run" : nil
            }), .produce(topic: topic, partition: partition))
            return []
        }
    }

    private func openAlterConfig(_ topic: String, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        mutating("alter config", now) {
            let current = s.topic(named: topic)?.configs?["retention.ms"] ?? ""
            mode = .form(Form(title: "Alter config of \(topic)", fields: [
                FormField(key: "key", label: "Key", value: "retention.ms", hint: "a topic config, e.g. retention.ms, cleanup.policy") { k in
                    k.isEmpty ? "required" : (k.contains(where: { $0 == " " || $0 == "=" }) ? "no spaces or '='" : nil)
                },
                FormField(key: "value", label: "Value", value: current) { $0.isEmpty ? "required" : nil },
            ], submitLabel: "set"), .alterConfig(topic: topic))
            return []
        }
    }

    private func openReset(_ group: String, _ topic: String?, _ now: Date) -> [ConsoleEffect] {
        mutating("reset offsets", now) {
            mode = .form(Form(title: "Reset offsets of \(group)", fields: [
                FormField(key: "strategy", label: "Reset to", choices: ResetStrategy.allCases.map(\.rawValue)),
                FormField(key: "value", label: "Time / offset", hint: "time: ISO-8601 or -10m/-2h; offset: a number; shift-by: +N or -N"),
                FormField(key: "topic", label: "Topic", value: topic ?? "", hint: "empty = every topic of the group"),
            ], submitLabel: "preview") { v in
                switch ResetStrategy(rawValue: v["strategy"] ?? "") {
                case .time: return Self.parseTime(v["value"] ?? "", now: now) == nil ? "time: ISO-8601 (2026-11-26T10:00:00Z) or relative (-10m, -2h)" : nil
                case .offset: return Int64(v["value"] ?? "").map { $0 < 0 ? "offset must be >= 0" : nil } ?? "offset: a number"
                case .shiftBy:
                    let raw = (v["value"] ?? "").trimmingCharacters(in: .whitespaces)
                    return Int64(raw.hasPrefix("+") ? String(raw.dropFirst()) : raw).map { $0 == 0 ? "shift-by: not 0" : nil } ?? "shift-by: a whole number, e.g. -100 or 50"
                default: return nil
                }
            }, .resetOffsets(group: group))
            return []
        }
    }

    private func openSeek(_ topic: String, _ partition: Int32?, _ now: Date) -> [ConsoleEffect] {
        mode = .form(Form(title: "Seek \(topic)" + (partition.map { "-\($0)" } ?? ""), fields: [
            FormField(key: "to", label: "Offset or time", hint: "offset, -N (N before the end), earliest, latest, ISO-8601 time or -10m") { v in
                Self.parseSeek(v, now: now) != nil ? nil : "an offset >= 0, -N for N before the end, earliest, latest, an ISO-8601 time or -10m"
            },
        ], submitLabel: "seek"), .seek(topic: topic, partition: partition))
        return []
    }

    /// Where a seek starts. `-5` is kcat's `-o -5` (5 before the end of each partition); it
    /// once became offset -5, silently clamped to the log start. nil when unparsable.
    static func parseSeek(_ raw: String, now: Date) -> TailStart? {
        let t = raw.trimmingCharacters(in: .whitespaces)
        switch t.lowercased() {
        case "earliest", "beginning": return .offset(0)
        case "latest", "end": return .latest(0)
        default: break
        }
        if let n = Int64(t) {
            if n >= 0 { return .offset(n) }
            return n == Int64.min ? nil : .latest(Int(-n))
        }
        return parseTime(t, now: now).map { .timestampMs($0) }
    }

    /// What a seek does, for the status line.
    static func describeSeek(_ start: TailStart) -> String {
        switch start {
        case .latest(0): "reading from the end of each partition"
        case .latest(let n): "reading from \(n) before the end of each partition"
        case .offset(let o): "reading from offset \(o) (clamped to the log start and end)"
        case .timestampMs(let ms): "reading from \(Format.timestamp.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))) UTC"
        }
    }

    /// "2026-11-26T10:00:00Z" or relative "-10m", "-2h", "-30s", "-1d"; epoch milliseconds.
    public static func parseTime(_ s: String, now: Date) -> Int64? {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("-"), let unit = t.last, let n = Double(t.dropFirst().dropLast()) {
            let mult: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86400][unit]
            guard let mult else { return nil }
            return Int64((now.timeIntervalSince1970 - n * mult) * 1000)
        }
        let f = ISO8601DateFormatter()
        if let d = f.date(from: t) { return Int64(d.timeIntervalSince1970 * 1000) }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: t).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    private func submit(_ purpose: FormPurpose, _ v: [String: String], _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch purpose {
        case .createTopic:
            let configs = (try? Self.parseConfigs(v["configs"] ?? "").get()) ?? [:]
            let action = ConsoleAction.createTopic(name: v["name"] ?? "", partitions: Int32(v["partitions"] ?? "") ?? 1,
                                                   replicationFactor: Int16(v["rf"] ?? "") ?? 1, configs: configs)
            if case .createTopic(let name, let partitions, _, _) = action, Int(partitions) > Self.partitionConfirmThreshold {
                mode = .confirm("Create \(name) with \(Self.grouped(Int(partitions))) partitions (more than \(Self.grouped(Self.partitionConfirmThreshold)))? (y/n)", action)
                return []
            }
            return perform(action, now)
        case .deleteTopic(let t): return perform(.deleteTopic(t), now)
        case .produce(let t, let p):
            let num = { (k: String) in (v[k] ?? "").trimmingCharacters(in: .whitespaces) }
            return perform(.produce(ProduceSpec(topic: t, partition: p, count: Int(num("count")) ?? 1, sizeBytes: Int(num("size")) ?? 100,
                                                keyPattern: v["key"] ?? "", rate: Double(num("rate")) ?? 0)), now)
        case .alterConfig(let t): return perform(.alterTopicConfig(topic: t, key: v["key"] ?? "", value: v["value"] ?? ""), now)
        case .resetOffsets(let g):
            let strategy = ResetStrategy(rawValue: v["strategy"] ?? "") ?? .latest
            let raw = (v["value"] ?? "").trimmingCharacters(in: .whitespaces)
            let value: Int64? = strategy == .time ? Self.parseTime(raw, now: now) : (strategy == .offset || strategy == .shiftBy ? Int64(raw) : nil)
            let topic = (v["topic"] ?? "").isEmpty ? nil : v["topic"]
            return perform(.planOffsetReset(OffsetResetRequest(group: g, topic: topic, strategy: strategy, value: value)), now)
        case .seek(let t, let p):
            guard let start = Self.parseSeek(v["to"] ?? "", now: now) else { return [] }
            say(Self.describeSeek(start), .dim, now)
            return openMessages(t, p, start: start)
        case .addPartitions, .deleteGroup, .produceMessage, .setConfig, .addConfig, .copyMessage, .export:
            return submitOperation(purpose, v, s, now)
        }
    }

    // MARK: - Events

    public func receive(_ event: ConsoleEvent, now: Date) {
        switch event {
        case .succeeded(let text): say(text, .ok, now); pendingForm = nil
        case .failed(let text): say(text, .error, now)
        case .actionFailed(let action, let text):
            say(text, .error, now)
            if let p = pendingForm, p.action == action {
                pendingForm = nil
                // Only when nothing else is open: never yank the user out of another dialog.
                if case .normal = mode {
                    var form = p.form
                    // The dialog's title already says what failed; keep the broker's reason.
                    form.error = text.range(of: " failed: ").map { String(text[$0.upperBound...]) } ?? text
                    mode = .form(form, p.purpose)
                }
            }
        case .resetPlan(let plan): mode = .preview(plan, TableState())
        case .messages(let id, let batch):
            guard id == tail?.id else { return }
            tailError = nil
            messages.append(contentsOf: batch)
            if messages.count > messageLimit { messages.removeFirst(messages.count - messageLimit) }
        case .tailError(let id, let text):
            guard id == tail?.id else { return }
            tailError = text
        case .configs(let target, let rows): receiveConfigs(target, rows: rows, error: nil)
        case .configsFailed(let target, let text): receiveConfigs(target, rows: nil, error: text)
        }
    }

    // MARK: - Rendering

    /// The glyph set of the last rendered canvas (sparklines must match the terminal).
    private var glyphs: Glyphs = .unicode

    func paneTable(_ s: ClusterSnapshot, now: Date) -> PaneTable {
        let kind = currentPane, filter = currentFilter
        let extra: Int
        switch kind {
        case .brokers, .topics, .groups: extra = themeIndex
        case .configs: extra = configVersion
        default: extra = messages.count
        }
        if let c = cache, c.sequence == s.sequence, c.kind == kind, c.filter == filter, c.extra == extra { return c.table }
        let f = TextFilter(filter)
        let table: PaneTable
        switch kind {
        case .brokers: table = Presenters.brokers(s, filter: f)
        case .topics: table = Presenters.topics(s, filter: f)
        case .groups: table = Presenters.groups(s, filter: f, glyphs: glyphs)
        case .partitions(let t): table = Presenters.partitions(s, topic: t, filter: f, now: now)
        case .groupPartitions(let g): table = Presenters.groupPartitions(s, group: g, filter: f)
        case .messages(let t, let p): table = Presenters.messages(messages, title: "Messages of \(t)" + (p.map { "-\($0)" } ?? ""), filter: f)
        case .groupMembers(let g): table = Presenters.groupMembers(s, group: g, filter: f)
        case .configs(let target): table = Presenters.configs(configData[target]?.rows, target: target, error: configData[target]?.error, filter: f)
        }
        cache = (s.sequence, kind, filter, extra, table)
        return table
    }

    /// Sections whose errors and age the current pane shows.
    private var paneSections: [SnapshotSection] {
        switch currentPane {
        case .brokers: [.metadata, .logDirs]
        case .topics: [.metadata, .offsets, .configs, .logDirs]
        case .partitions: [.metadata, .offsets, .logDirs]
        case .groups, .groupPartitions: [.groups, .committed, .offsets]
        case .groupMembers: [.groups]
        case .messages, .configs: []
        }
    }

    /// Draws a whole frame.
    public func render(_ s: ClusterSnapshot, into canvas: inout Canvas, now: Date, sampling: Bool = false) {
        canvas.fill(canvas.bounds, role: .text)
        canvas.cursor = nil
        if canvas.glyphs != glyphs { glyphs = canvas.glyphs; cache = nil }
        guard canvas.width >= 40, canvas.height >= 10 else {
            canvas.write("terminal too small: need 40x10", row: 0, col: 0, role: .error)
            return
        }
        drawHeader(s, &canvas, now: now, sampling: sampling)
        let body = Rect(row: 2, col: 0, width: canvas.width, height: canvas.height - 4)
        let table = paneTable(s, now: now)
        var title = table.title + " [\(table.rowCount)]"
        if !currentFilter.isEmpty { title += " /\(currentFilter)" + (TextFilter(currentFilter).isRegex ? "" : " (as text)") }
        if let age = paneSections.first.flatMap({ s.age(of: $0, now: now) }) { title += "  age \(Duration.compact(age))" }
        canvas.box(body, title: title)
        var inner = body.inset(1)
        // With Metadata failing, the other sections only say "skipped": one line is enough.
        let metadataDown = s.errors[.metadata] != nil
        let errs = paneSections.compactMap { sec in
            s.errors[sec].flatMap { metadataDown && sec != .metadata && $0.hasPrefix("skipped") ? nil : "\(sec.rawValue): \($0)" }
        }
            + (tail != nil ? [tailError].compactMap { $0.map { "messages: \($0)" } } : [])
        for e in errs.prefix(2) where inner.height > 2 {
            canvas.write(fitted: "! " + e, row: inner.row, col: inner.col, width: inner.width, role: .error)
            inner = Rect(row: inner.row + 1, col: inner.col, width: inner.width, height: inner.height - 1)
        }
        mouseTargets.rows = Rect(row: inner.row + 1, col: inner.col, width: inner.width, height: max(0, inner.height - 1))
        if table.rowCount == 0 {
            TableView(columns: table.columns, rowCount: 0, row: table.row).draw(in: &canvas, rect: inner, state: &stack[stack.count - 1].table)
            canvas.write(fitted: table.emptyMessage, row: inner.row + 2, col: inner.col + 2, width: inner.width - 4, role: .dim)
        } else {
            pageHeight = TableView(columns: table.columns, rowCount: table.rowCount, row: table.row)
                .draw(in: &canvas, rect: inner, state: &stack[stack.count - 1].table)
            mouseTargets.pageHeight = pageHeight
        }
        // Detail line: a flash message (for 6 s), else the selected row's explanation.
        let detailRow = canvas.height - 2
        if let f = flash, now.timeIntervalSince(f.at) < 6 {
            canvas.write(fitted: f.text, row: detailRow, col: 1, width: canvas.width - 2, role: f.role)
        } else if table.rowCount > 0, let d = table.detail(min(selectedRow, table.rowCount - 1)) {
            canvas.write(fitted: d, row: detailRow, col: 1, width: canvas.width - 2, role: .dim)
        }
        drawFooter(&canvas, now: now)
        drawOverlay(&canvas)
    }

    private func drawHeader(_ s: ClusterSnapshot, _ canvas: inout Canvas, now: Date, sampling: Bool) {
        canvas.fill(Rect(row: 0, col: 0, width: canvas.width, height: 1), role: .header)
        let up = s.brokers.filter { $0.status == .up }.count
        var left = " samsa console │ \(s.bootstrap)"
        if let id = s.clusterId { left += " │ \(id)" }
        if !canvas.glyphs.vertical.contains("│") { left = left.replacingOccurrences(of: "│", with: "|") }
        var right = "  brokers \(up)/\(s.brokers.count)  topics \(s.topics.count)  groups \(s.groups.count) "
        if readOnly { right = "  READ-ONLY" + right }
        // The counts and READ-ONLY matter more than the cluster id: at 80 columns in
        // read-only mode "groups N" was cut off and READ-ONLY ran into the id.
        let rw = min(TextWidth.width(of: right), max(canvas.width / 2, canvas.width - 34))
        canvas.write(fitted: left, row: 0, col: 0, width: canvas.width - rw, role: .header)
        canvas.write(fitted: right, row: 0, col: canvas.width - rw, width: rw, alignRight: true, role: .header)
        // Tabs and breadcrumb.
        canvas.fill(Rect(row: 1, col: 0, width: canvas.width, height: 1), role: .tab)
        let top = PaneKind.topLevel
        var x = TabBar(titles: top.map(\.title), active: top.firstIndex(of: stack[0].kind)).draw(in: &canvas, row: 1, col: 0)
        // The same widths TabBar uses (" 1 Brokers "), for clicks on a tab.
        mouseTargets.tabs = []
        var tx = 0
        for (i, kind) in top.enumerated() {
            let w = TextWidth.width(of: " \(i + 1) \(kind.title) ")
            if tx + w > x { break }
            mouseTargets.tabs.append((tx..<(tx + w), kind))
            tx += w
        }
        for entry in stack.dropFirst() where x < canvas.width - 3 {
            x += canvas.write(" › " + entry.kind.title, row: 1, col: x, maxWidth: canvas.width - x, role: .tab)
        }
        let state: String
        if s.errors[.metadata] != nil { state = "cluster unreachable" }
        else if !s.hasData { state = sampling ? "connecting…" : "no data" }
        else { state = "sampled \(Duration.compact(now.timeIntervalSince(s.takenAt))) ago" }
        let sw = TextWidth.width(of: state) + 1
        if x + sw < canvas.width {
            canvas.write(state, row: 1, col: canvas.width - sw, role: s.errors[.metadata] != nil ? .error : .tab)
        }
    }

    /// Key hints of the current pane (status bar and `?`); mutations are not offered in
    /// read-only mode.
    func paneHints() -> [KeyHelp] {
        let all = allPaneHints()
        guard readOnly else { return all }
        let mutating: Set<String> = ["create", "delete", "produce", "load", "edit config", "reset offsets", "add partitions",
                                     "delete group", "remove override", "add key", "stop broker", "start broker", "restart broker"]
        return all.filter { !mutating.contains($0.action) }
    }

    private func allPaneHints() -> [KeyHelp] {
        switch currentPane {
        case .brokers:
            return [KeyHelp("e", "configs")]
                + (brokerControl ? [KeyHelp("x", "stop broker"), KeyHelp("s", "start broker"), KeyHelp("r", "restart broker")] : [])
        case .topics:
            return [KeyHelp("Enter", "partitions"), KeyHelp("m", "messages"), KeyHelp("e", "configs"), KeyHelp("c", "create"), KeyHelp("d", "delete"),
                    KeyHelp("p", "produce"), KeyHelp("P", "load"), KeyHelp("+", "add partitions")]
        case .partitions: return [KeyHelp("Enter", "messages"), KeyHelp("e", "configs"), KeyHelp("p", "produce"), KeyHelp("P", "load"),
                                  KeyHelp("+", "add partitions")]
        case .groups: return [KeyHelp("Enter", "partitions"), KeyHelp("M", "members"), KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .groupPartitions: return [KeyHelp("Enter", "messages"), KeyHelp("M", "members"), KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .groupMembers: return [KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .messages: return [KeyHelp("Enter", "show message"), KeyHelp("s", "seek"), KeyHelp("c", "copy"), KeyHelp("w", "export"),
                                KeyHelp("p", "produce"), KeyHelp("P", "load")]
        case .configs: return [KeyHelp("Enter", "edit config"), KeyHelp("d", "remove override"), KeyHelp("a", "add key"), KeyHelp("r", "reload")]
        }
    }

    static let globalHints: [KeyHelp] = [
        KeyHelp(":", "command palette"), KeyHelp("/", "filter (regex, !inverse)"), KeyHelp("?", "help"),
        KeyHelp("Esc", "clear filter / back"), KeyHelp("Tab 1 2 3", "brokers, topics, groups"),
        KeyHelp("Up Down j k", "move"), KeyHelp("PgUp PgDn g G", "page, first, last"),
        KeyHelp("C-r", "refresh now"), KeyHelp("T", "cycle theme"), KeyHelp("q C-c", "quit"),
    ]

    private func drawFooter(_ canvas: inout Canvas, now: Date) {
        let row = canvas.height - 1
        switch mode {
        case .filter(let editor):
            canvas.fill(Rect(row: row, col: 0, width: canvas.width, height: 1), role: .input)
            canvas.write("/", row: row, col: 0, role: .inputFocused)
            let note = TextFilter(editor.text).isRegex ? "" : " not a valid regex: matching as text "
            let nw = canvas.width - 1 > TextWidth.width(of: note) + 10 ? TextWidth.width(of: note) : 0
            editor.draw(in: &canvas, row: row, col: 1, width: canvas.width - 1 - nw, role: .inputFocused, focused: true)
            if nw > 0 { canvas.write(note, row: row, col: canvas.width - nw, role: .warn) }
        case .palette(let p):
            p.draw(in: &canvas, row: row)
        default:
            var hints = paneHints().map { ($0.keys, $0.action) }
            hints += [(":", "cmd"), ("/", "filter"), ("?", "help"), ("q", "quit")]
            StatusBar(hints: hints, right: readOnly ? "read-only" : "").draw(in: &canvas, row: row)
        }
    }

    private func drawOverlay(_ canvas: inout Canvas) {
        switch mode {
        case .help:
            var paneKeys = paneHints()
            if readOnly { paneKeys.append(KeyHelp("", "read-only: create, delete, produce, reset, alter are disabled")) }
            HelpOverlay(title: "Keys: \(currentPane.title)", sections: [("This pane", paneKeys), ("Everywhere", Self.globalHints)]).draw(in: &canvas)
        case .form(let form, _): form.draw(in: &canvas)
        case .confirm(let text, _):
            let rect = canvas.bounds.centered(width: min(canvas.width - 4, TextWidth.width(of: text) + 6), height: 3)
            canvas.fill(rect, role: .dialog)
            canvas.box(rect, title: "Confirm", role: .dialog, titleRole: .dialogTitle)
            canvas.write(fitted: text, row: rect.row + 1, col: rect.col + 2, width: rect.width - 4, role: .dialog)
        case .preview(let plan, var state):
            let rect = canvas.bounds.centered(width: canvas.width - 4, height: canvas.height - 4)
            canvas.fill(rect, role: .dialog)
            canvas.box(rect, title: "Preview: reset \(plan.request.group) to \(plan.request.targetDescription)", role: .dialog, titleRole: .dialogTitle)
            let inner = rect.inset(1)
            var top = inner.row
            if plan.activeMembers > 0 {
                canvas.write(fitted: "\(Format.plural(plan.activeMembers, "active member")): Kafka will refuse; stop the consumers first",
                             row: top, col: inner.col + 1, width: inner.width - 2, role: .warn)
                top += 1
            }
            let rows = plan.rows
            TableView(columns: [TableColumn("TOPIC", width: 12, flex: 1), TableColumn("P", width: 4, alignRight: true),
                                TableColumn("CURRENT", width: 10, alignRight: true), TableColumn("NEW", width: 10, alignRight: true),
                                TableColumn("END", width: 10, alignRight: true), TableColumn("LAG AFTER", width: 10, alignRight: true)],
                      rowCount: rows.count, showsSelection: false) { i in
                let r = rows[i]
                return TableRow([r.partition.topic, "\(r.partition.partition)", r.current.map(String.init) ?? "-", "\(r.target)",
                                 r.end.map(String.init) ?? "-", r.lagAfter.map(String.init) ?? "-"])
            }.draw(in: &canvas, rect: Rect(row: top, col: inner.col + 1, width: inner.width - 2, height: inner.height - (top - inner.row) - 1), state: &state)
            canvas.write(fitted: plan.activeMembers > 0 ? "Esc close (no Execute: Kafka refuses while members are active)" : "Enter execute  Esc cancel",
                         row: inner.bottom - 1, col: inner.col + 1, width: inner.width - 2, role: .dialogTitle)
        case .detail(let title, let lines, let scroll):
            let rect = canvas.bounds.centered(width: canvas.width - 4, height: canvas.height - 2)
            canvas.fill(rect, role: .dialog)
            canvas.box(rect, title: title, role: .dialog, titleRole: .dialogTitle)
            let inner = rect.inset(1)
            for (i, line) in lines.dropFirst(scroll).prefix(inner.height).enumerated() {
                canvas.write(fitted: line, row: inner.row + i, col: inner.col + 1, width: inner.width - 2, role: .dialog)
            }
        default: break
        }
    }
}
