import Foundation
import KafkaClient
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
        /// The drill-down key (topic, group, partition, broker id...) of the selected row.
        /// Selection follows this identity, not the row index: a topic created above the
        /// selected one used to move the highlight (and `p`, `e`, `o`) to its neighbour.
        var selectedKey: String?
        /// The column the pane is sorted by (`<` `>` choose it, `-` reverses); nil keeps the
        /// presenter's order.
        var sort: SortSpec?
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
        /// Add a SCRAM user or change its password (the password fields are masked).
        case setUser
    }

    enum Mode {
        case normal
        case filter(LineEditor)
        case palette(CommandPalette)
        /// The `?` overlay, scrolled by this many lines.
        case help(Int)
        case form(Form, FormPurpose)
        case confirm(String, ConsoleAction)
        case preview(OffsetResetPlan, TableState)
        /// `:reassign`'s plan, before anything is sent.
        case reassignPreview(ReassignmentPlan, TableState)
        case detail(DetailView)
    }

    public let readOnly: Bool
    /// True when brokers are local processes the console may stop, start and restart.
    public let brokerControl: Bool
    public private(set) var themes: [Theme]
    public private(set) var themeIndex: Int
    var stack: [PaneEntry] = [PaneEntry(kind: .topics)]
    /// The root entry of each top-level pane last left, so Tab / 1 2 3 come back to the
    /// same selected object.
    private var savedTop: [PaneKind: PaneEntry] = [:]
    /// Bumped whenever `paneTable` builds a new table; a selection key that was not found
    /// in generation N is not searched again until the table changes.
    private var tableGeneration = 0
    private var missingKey: (generation: Int, depth: Int, key: String)?
    var mode: Mode = .normal
    var flash: (text: String, role: Role, at: Date)?
    /// Every flash message, newest last (at most 200): `!` reopens them in full, since a
    /// long error (a broker's start failure with its log lines) does not fit one line.
    var history: [(text: String, role: Role, at: Date)] = []
    var messages: [ConsoleMessage] = []
    var tail: TailRequest?
    var tailError: String?
    /// The dialog whose action is in flight (see `receive(.actionFailed)`).
    var pendingForm: (form: Form, purpose: FormPurpose, action: ConsoleAction)?
    private var nextTailId = 1
    private var pageHeight = 10
    private var cache: (sequence: Int, kind: PaneKind, filter: String, extra: Int, sort: SortSpec?, table: PaneTable)?
    private var widthCache: (generation: Int, widths: [Int])?
    /// Messages kept in the Messages pane: while following, the oldest are dropped beyond
    /// this; while paused, nothing the user can still scroll to is dropped and the tail
    /// reads only this many ahead (see `messagesScrolled`).
    public var messageLimit = 2000
    /// Configs panes' data per topic/broker, read on demand (not by the sampler).
    var configData: [ConfigTarget: ConfigData] = [:]
    /// Bumped when `configData` changes, so the pane cache rebuilds.
    var configVersion = 0
    /// Tabs and table rows of the last frame, for mouse clicks.
    var mouseTargets = MouseTargets()
    /// Following: the view shows the newest records as they come. Paused (after a seek, from
    /// a group's committed offset, or `f`): the view stays where it is.
    var following = true
    /// Records the current tail has delivered, and how many it may (paused only).
    private var tailDelivered = 0
    private var tailGranted: Int?
    /// The rolling restart under way (its last reported state), nil when none runs.
    var rolling: RollingRestart?
    /// The clusters file's name of this cluster (header) and every name `:cluster` accepts.
    public var clusterName: String?
    public var clusterNames: [String] = []
    /// Where `:cluster up` starts a local demo cluster (nil: not offered) and whether the one
    /// it started runs (then `:cluster local` opens it and `:cluster down` stops it).
    public var localClusterDirectory: String?
    public var localClusterRunning = false
    /// The offer of a local cluster was made (once per session, on the first failed sample),
    /// or is not wanted: a session that opens with a message (after `:cluster down`, a switch)
    /// keeps that message on the status line instead.
    var offeredLocalCluster = false
    /// The reassignment this console started, followed until ListPartitionReassignments drops it.
    var reassignWatch: ReassignmentWatch?
    /// Esc was pressed during the rolling restart; its end is awaited.
    var rollingCancelling = false
    /// When the rolling restart last changed step (newer than a message: it shows).
    var rollingChangedAt = Date.distantPast
    /// Bumped on every change of `messages` (the table cache key; a count can repeat).
    private var messagesVersion = 0
    /// The ACL and Users panes' data, read on demand (see `openSecurityPane`).
    var aclData = SecurityData<KafkaAcl.Binding>()
    var userData = SecurityData<ScramUserDescription>()
    /// Bumped when `aclData` or `userData` changes, so the pane cache rebuilds.
    var securityVersion = 0

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
        PaletteCommand("brokers", aliases: ["b", "br", "nodes"], summary: "brokers: role, status, controller, leaders, URP, log dirs"),
        PaletteCommand("quorum", aliases: ["controllers"], summary: "the KRaft controller quorum: leader, epoch, voters' and observers' lag"),
        PaletteCommand("topics", aliases: ["t", "to"], summary: "topics: partitions, URP, size, rate, retention"),
        PaletteCommand("groups", aliases: ["g", "cg", "consumers"], summary: "consumer groups: lag, trend, verdict"),
        PaletteCommand("partitions", aliases: ["p", "parts"], summary: "partitions TOPIC: leader, ISR, offsets"),
        PaletteCommand("group", aliases: [], summary: "group ID: a group's partitions and lag"),
        PaletteCommand("members", aliases: [], summary: "members GROUP: member, instance and client ids, hosts, assignment"),
        PaletteCommand("messages", aliases: ["m", "tail"], summary: "messages TOPIC [PARTITION]: live tail"),
        PaletteCommand("create-topic", aliases: ["create", "new"], summary: "create a topic (dialog)"),
        PaletteCommand("delete-topic", aliases: ["delete"], summary: "delete TOPIC (type its name to confirm)"),
        PaletteCommand("add-partitions", aliases: [], summary: "add partitions to TOPIC"),
        PaletteCommand("elect", aliases: ["elect-leaders", "election"], summary: "elect preferred [TOPIC[:PARTITION]]: preferred leader election (no TOPIC: all)"),
        PaletteCommand("reassign", aliases: ["move", "reassign-partitions"],
                       summary: "reassign TOPIC:PARTITION 1,2,3 | TOPIC 1,2,3 [RF] | cancel [TOPIC[:P]]: move replicas, with a preview"),
        PaletteCommand("acl", aliases: ["acls"], summary: "acl: every ACL | acl add PRINCIPAL OPERATION topic|group|transactional-id NAME|cluster [deny] [prefixed] [host H] | acl delete (selected)"),
        PaletteCommand("user", aliases: ["users", "scram"], summary: "user: SCRAM users | user set NAME [MECHANISM [PASSWORD]] (no PASSWORD: masked prompt) | user delete NAME [MECHANISM]"),
        PaletteCommand("cluster", aliases: ["clusters", "use"], summary: "cluster [NAME | up [N] | down]: switch clusters (no NAME: list them); up starts a local N-node demo cluster, down stops it"),
        PaletteCommand("rolling-restart", aliases: ["roll"], summary: "restart the local cluster's brokers one at a time, waiting for full ISRs"),
        PaletteCommand("produce", aliases: [], summary: "produce one message (key, value, headers) to TOPIC"),
        PaletteCommand("load", aliases: ["generate"], summary: "generate test load on TOPIC (count, size, rate)"),
        PaletteCommand("export", aliases: [], summary: "export TOPIC [PARTITION] messages as JSON lines to a file"),
        PaletteCommand("reset-offsets", aliases: ["reset"], summary: "reset GROUP's offsets, with a preview"),
        PaletteCommand("delete-group", aliases: [], summary: "delete GROUP (no active members; type its name)"),
        PaletteCommand("configs", aliases: ["config", "cfg"], summary: "configs TOPIC | configs broker ID: every config, its source; edit"),
        PaletteCommand("alter-config", aliases: [], summary: "set a config key on TOPIC"),
        PaletteCommand("theme", aliases: [], summary: "theme NAME, or cycle themes"),
        PaletteCommand("refresh", aliases: ["r"], summary: "sample the cluster now"),
        PaletteCommand("history", aliases: ["errors", "log"], summary: "messages and errors so far, in full"),
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
        case .help(let scroll):
            switch key {
            case .escape, .char("?"), .char("q"), .enter: mode = .normal
            case .down, .char("j"): mode = .help(scroll + 1)
            case .up, .char("k"): mode = .help(max(0, scroll - 1))
            case .pageDown, .char(" "): mode = .help(scroll + 10)
            case .pageUp: mode = .help(max(0, scroll - 10))
            default: break
            }
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
        case .reassignPreview(let plan, var state):
            switch key {
            case .escape, .char("n"), .char("q"): mode = .normal; say("reassignment cancelled: nothing was sent", .dim, now)
            case .enter, .char("y"): mode = .normal; return perform(.reassign(plan), now)
            default: _ = state.handle(key, rowCount: plan.rows.count, pageHeight: 10); mode = .reassignPreview(plan, state)
            }
            return []
        case .detail(var view):
            // c copies the message shown (as in the Messages pane).
            if key == .char("c"), let m = view.message, case .messages(let t, _) = currentPane { return openCopy(m, topic: t, now) }
            mode = view.handle(key) ? .detail(view) : .normal
            return []
        }
    }

    private func handleNormal(_ key: Key, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        switch key {
        case .char("q"): return [.quit]
        case .char(":"): mode = .palette(CommandPalette(commands: Self.paletteCommands)); return []
        case .char("/"): mode = .filter(LineEditor(currentFilter)); return []
        case .char("?"): mode = .help(0); return []
        case .ctrl("r"): say("refreshing", .dim, now); return [.refresh]
        case .char("T"): return cycleTheme(now)
        case .char("!"): return openHistory(now)
        case .escape:
            if let r = rolling, !r.isFinished { return cancelRollingRestart(now) }
            return back()
        case .tab, .backTab:
            let top = PaneKind.topLevel
            let i = top.firstIndex(of: stack[0].kind) ?? 0
            return goTop(top[(i + (key == .tab ? 1 : top.count - 1)) % top.count])
        case .char(">"), .char("<"): return cycleSort(forward: key == .char(">"), s, now)
        case .char("-"):
            guard var sort = stack[stack.count - 1].sort else { say("not sorted: < > choose a column", .dim, now); return [] }
            sort.descending.toggle()
            stack[stack.count - 1].sort = sort
            return []
        case .char("1"): return goTop(.brokers)
        case .char("2"): return goTop(.topics)
        case .char("3"): return goTop(.groups)
        default: break
        }
        let table = paneTable(s, now: now)
        syncSelection(table)
        if stack[stack.count - 1].table.handle(key, rowCount: table.rowCount, pageHeight: pageHeight) {
            rememberSelection(table)
            if case .messages = currentPane { return messagesScrolled(table, key, now) }
            return []
        }
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
        case (.topics, .char("L")): if let sel { return openElection(.topic(sel), s, now) }
        case (.topics, .char("A")): if let sel { return openReassignPalette(topic: sel, partition: nil, s, now) }
        case (.partitions(let t), .enter), (.partitions(let t), .char("m")):
            if let sel, let p = Int32(sel) { return openMessages(t, p) }
        case (.partitions(let t), .char("p")): return openProduceMessage(t, sel.flatMap { Int32($0) }, s, now)
        case (.partitions(let t), .char("P")): return openProduce(t, sel.flatMap { Int32($0) }, now)
        case (.partitions(let t), .char("e")): return openConfigs(.topic(t), now)
        case (.partitions(let t), .char("+")): return openAddPartitions(t, s, now)
        case (.partitions(let t), .char("L")): if let sel, let p = Int32(sel) { return openElection(.partition(TopicPartition(t, p)), s, now) }
        case (.partitions(let t), .char("A")): if let sel, let p = Int32(sel) { return openReassignPalette(topic: t, partition: p, s, now) }
        case (.groups, .enter): if let sel { return push(.groupPartitions(group: sel)) }
        case (.groups, .char("o")): if let sel { return openReset(sel, nil, now) }
        case (.groups, .char("M")): if let sel { return push(.groupMembers(group: sel)) }
        case (.groups, .char("d")), (.groups, .ctrl("d")): if let sel { return openDeleteGroup(sel, s, now) }
        case (.groupPartitions(let g), .char("M")): return push(.groupMembers(group: g))
        case (.groupPartitions(let g), .char("d")), (.groupMembers(let g), .char("d")): return openDeleteGroup(g, s, now)
        case (.groupMembers(let g), .char("o")): return openReset(g, nil, now)
        case (.configs(let target), _): return configKey(target, key, sel, s, now)
        case (.acls, _): return aclKey(key, sel, now)
        case (.users, _): return userKey(key, sel, now)
        case (.brokers, .char("Q")): return push(.quorum)
        case (.brokers, .char("e")): if let sel, let id = Int32(sel) { return openConfigs(.broker(id), now) }
        case (.brokers, .char("R")): return openRollingRestart(s, now)
        case (.groupPartitions(let g), .char("o")):
            return openReset(g, sel.flatMap { $0.split(separator: "\t").first.map(String.init) }, now)
        case (.groupPartitions, .enter), (.groupPartitions, .char("m")):
            if let parts = sel?.split(separator: "\t"), parts.count == 2, let p = Int32(parts[1]) {
                // From a group: start at what the group reads next (its committed offset), pinned.
                if case .groupPartitions(let g) = currentPane,
                   let c = s.group(id: g)?.partitions.first(where: { $0.topic == parts[0] && $0.partition == p })?.committedOffset {
                    return openMessages(String(parts[0]), p, start: .offset(c), follow: false)
                }
                return openMessages(String(parts[0]), p)
            }
        case (.messages, .enter):
            if let sel, let m = message(forKey: sel) { mode = .detail(DetailView(message: m)) }
        case (.messages(let t, let p), .char("s")): return openSeek(t, p, now)
        case (.messages(let t, let p), .char("f")):
            if following { return pauseMessages(now) }
            // Follow again: from the newest records, like `tail -f`.
            let effects = openMessages(t, p)
            say("following new messages", .dim, now)
            return effects
        case (.messages(let t, let p), .char("p")): return openProduceMessage(t, p, s, now)
        case (.messages(let t, let p), .char("P")): return openProduce(t, p, now)
        case (.messages(let t, _), .char("c")): if let sel, let m = message(forKey: sel) { return openCopy(m, topic: t, now) }
        case (.messages(let t, let p), .char("w")): return openExport(t, p, now)
        case (.brokers, .char("x")), (.brokers, .char("s")), (.brokers, .char("r")), (.brokers, .char("K")):
            guard let sel, let id = Int32(sel) else { return [] }
            guard brokerControl else { say("broker control needs a local cluster started by samsa demo", .warn, now); return [] }
            if let r = rolling, !r.isFinished {
                say("a rolling restart is running: Esc cancels it first (\(r.status(now: now)))", .warn, now); return []
            }
            let op: BrokerOperation = key == .char("x") ? .stop : (key == .char("s") ? .start : (key == .char("K") ? .kill : .restart))
            return mutating(op.verb + " broker", now) {
                switch Self.brokerOperationQuestion(op, id, s) {
                case .failure(let e): say(e.message, .warn, now)
                case .success(let q): mode = .confirm(q, .broker(op, id: id))
                }
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
        case "quorum": return push(.quorum)
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
        case "elect": return runElectCommand(args, s, now)
        case "rolling-restart": return openRollingRestart(s, now)
        case "reassign": return runReassignCommand(args, s, now)
        case "cluster": return runClusterCommand(args, now)
        case "acl": return runAclCommand(args, s, now)
        case "user": return runUserCommand(args, s, now)
        case "history": return openHistory(now)
        case "theme":
            if let name = arg {
                guard let i = themes.firstIndex(where: { $0.name == name }) else {
                    say("no theme '\(name)'; loaded: \(themes.map(\.name).joined(separator: ", "))", .error, now); return []
                }
                themeIndex = i; say("theme \(name)", .dim, now); return []
            }
            return cycleTheme(now)
        case "refresh": return [.refresh]
        case "help": mode = .help(0); return []
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
        case .groups: return selectedKey(paneTable(s, now: now))
        default: return nil
        }
    }

    private func selectedTopic(_ s: ClusterSnapshot, _ now: Date) -> String? {
        switch currentPane {
        case .topics: return selectedKey(paneTable(s, now: now))
        case .partitions(let t), .messages(let t, _), .configs(.topic(let t)): return t
        default: return nil
        }
    }

    // MARK: - Navigation

    func goTop(_ kind: PaneKind) -> [ConsoleEffect] {
        let stopTail = tail != nil
        savedTop[stack[0].kind] = stack[0]
        // The filter is not carried back (an invisible narrowing would surprise), the
        // selected object is.
        var entry = PaneEntry(kind: kind)
        if let saved = savedTop[kind] { entry.selectedKey = saved.selectedKey; entry.table = saved.table; entry.sort = saved.sort }
        stack = [entry]
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
        tail = nil; messages = []; messagesVersion += 1
        return [.tail(nil)]
    }

    private func openMessages(_ topic: String, _ partition: Int32?, start: TailStart = .latest(50), follow: Bool = true) -> [ConsoleEffect] {
        if case .messages = currentPane { stack.removeLast() }
        stack.append(PaneEntry(kind: .messages(topic: topic, partition: partition)))
        messages = []; tailError = nil; messagesVersion += 1
        following = follow
        tailDelivered = 0
        tailGranted = follow ? nil : messageLimit
        let req = TailRequest(topic: topic, partition: partition, start: start, id: nextTailId, limit: tailGranted)
        nextTailId += 1
        tail = req
        return [.tail(req)]
    }

    /// Pauses the Messages pane where it is: the tail stops after what is buffered.
    private func pauseMessages(_ now: Date) -> [ConsoleEffect] {
        guard following, let tail else { return [] }
        following = false
        tailGranted = tailDelivered
        say("paused: the view stays here (f follows again)", .dim, now)
        cache = nil
        return [.tailLimit(id: tail.id, limit: tailGranted)]
    }

    /// While paused, records stay until the user scrolls away from them: near the end of
    /// what is buffered, the records more than a page above the selection are dropped and
    /// the tail may read that many more. While following, moving up pauses (like `less +F`).
    func messagesScrolled(_ table: PaneTable, _ key: Key, _ now: Date) -> [ConsoleEffect] {
        guard let tail else { return [] }
        if following {
            let up: Set<Key> = [.up, .char("k"), .pageUp, .ctrl("b"), .home, .char("g")]
            return up.contains(key) ? pauseMessages(now) : []
        }
        let sel = stack[stack.count - 1].table.selected
        guard table.rowCount > 0, sel >= table.rowCount - 2 * max(1, pageHeight) else { return [] }
        // Only records the user has scrolled past (above the visible page) go.
        let selectedOffset = table.key(sel)
        let drop = min(max(0, messages.count - pageHeight - 1), max(0, messages.firstIndex { "\($0.partition)\t\($0.offset)" == selectedOffset } ?? 0) - pageHeight)
        if drop > 0 { messages.removeFirst(drop); messagesVersion += 1; cache = nil }
        let granted = tailDelivered + max(0, messageLimit - messages.count)
        guard granted > (tailGranted ?? 0) else { return [] }
        tailGranted = granted
        return [.tailLimit(id: tail.id, limit: granted)]
    }

    private func setFilter(_ f: String) {
        stack[stack.count - 1].filter = f
        // The selected object stays selected when the filter keeps it (syncSelection).
        stack[stack.count - 1].table = TableState()
    }

    /// Moves the highlight to the row of the remembered object, wherever presenters, new
    /// rows, filters or sorts put it. When the object is not in the table (filtered out,
    /// deleted) the index is kept (clamped) and the key remembered, so it comes back when
    /// the object does; moving the selection forgets it.
    func syncSelection(_ table: PaneTable) {
        let depth = stack.count - 1
        guard table.rowCount > 0 else { return }
        guard let key = stack[depth].selectedKey else {
            stack[depth].table.selected = min(max(0, stack[depth].table.selected), table.rowCount - 1)
            rememberSelection(table)
            return
        }
        let sel = min(max(0, stack[depth].table.selected), table.rowCount - 1)
        if table.key(sel) == key { stack[depth].table.selected = sel; return }
        if let m = missingKey, m.generation == tableGeneration, m.depth == depth, m.key == key { return }
        if let i = (0..<table.rowCount).first(where: { table.key($0) == key }) {
            stack[depth].table.selected = i
        } else {
            missingKey = (tableGeneration, depth, key)
        }
    }

    /// The key of the selected row, after following the remembered object.
    private func selectedKey(_ table: PaneTable) -> String? {
        syncSelection(table)
        return table.rowCount > 0 ? table.key(min(selectedRow, table.rowCount - 1)) : nil
    }

    func rememberSelection(_ table: PaneTable) {
        let depth = stack.count - 1
        guard table.rowCount > 0 else { return }
        stack[depth].selectedKey = table.key(min(stack[depth].table.selected, table.rowCount - 1))
    }

    /// `>` / `<`: the next / previous column to sort by, then back to the presenter's order.
    /// Numeric (right-aligned) columns start descending (largest lag first), text ascending.
    private func cycleSort(forward: Bool, _ s: ClusterSnapshot, _ now: Date) -> [ConsoleEffect] {
        let top = stack.count - 1
        let old = stack[top].sort?.column ?? -1
        stack[top].sort = nil
        let columns = paneTable(s, now: now).columns  // titles without the sort mark
        guard !columns.isEmpty else { return [] }
        var next = forward ? old + 1 : (old < 0 ? columns.count - 1 : old - 1)
        if next >= columns.count { next = -1 }
        if next >= 0 {
            stack[top].sort = SortSpec(column: next, descending: columns[next].alignRight)
            say("sorted by \(columns[next].title)" + (columns[next].alignRight ? ", largest first" : "") + " (- reverses)", .dim, now)
        } else {
            say("unsorted (the pane's own order)", .dim, now)
        }
        return []
    }

    private func cycleTheme(_ now: Date) -> [ConsoleEffect] {
        themeIndex = (themeIndex + 1) % themes.count
        say("theme \(theme.name)", .dim, now)
        return []
    }

    /// A console that cannot reach its cluster and has never had data from it offers a local
    /// demo cluster once (where `:cluster up` would start it), as a first-time user with no
    /// cluster needs one.
    func offerLocalClusterIfUnreachable(_ s: ClusterSnapshot, _ now: Date) {
        guard !offeredLocalCluster, !s.hasData, s.errors[.metadata] != nil, let dir = localClusterDirectory, !localClusterRunning else { return }
        offeredLocalCluster = true
        say("cannot reach the cluster: :cluster up starts a local 3-node demo cluster in \(dir)", .warn, now)
    }

    func say(_ text: String, _ role: Role, _ now: Date) {
        flash = (text, role, now)
        history.append((text, role, now))
        if history.count > 200 { history.removeFirst(history.count - 200) }
    }

    /// The message history as a detail view, newest first, wrapped.
    private func openHistory(_ now: Date) -> [ConsoleEffect] {
        var lines: [String] = []
        for h in history.reversed() {
            let parts = h.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines.append("\(Self.clock.string(from: h.at))  " + (h.role == .error ? "error: " : "") + (parts.first ?? ""))
            lines += parts.dropFirst().map { "          " + $0 }
        }
        if lines.isEmpty { lines = ["no messages yet"] }
        mode = .detail(DetailView(title: "Message history (newest first)", lines: lines))
        return []
    }

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
        case .broker(let op, let id): "\(op.verb) broker \(id)…"
        case .addPartitions(let t, let n): "adding partitions to \(t) (total \(n))…"
        case .deleteGroup(let g): "deleting group \(g)…"
        case .produceMessage(let m): "producing a message to \(m.topic)…"
        case .describeConfigs(let target): "reading configs of \(target)…"
        case .setConfig(let target, let k, let v): "setting \(k)=\(v) on \(target)…"
        case .deleteConfig(let target, let k): "removing the override of \(k) on \(target)…"
        case .exportMessages(let e): "exporting messages of \(e.topic) to \(e.path)…"
        case .writeFile(let path, _, let what): "writing \(what) to \(path)…"
        case .electPreferred(let scope): "electing the preferred leader of \(scope)…"
        case .rollingRestart: "rolling restart: checking the cluster…"
        case .reassign(let plan): "starting the reassignment of \(plan.title)…"
        case .cancelReassignments(let tps): "cancelling \(Format.plural(tps.count, "reassignment"))…"
        case .describeAcls: "reading ACLs…"
        case .createAcls(let bs): bs.count == 1 ? "adding ACL \(aclText(bs[0]))…" : "adding \(Format.plural(bs.count, "ACL"))…"
        case .deleteAcl(let b): "deleting ACL \(aclText(b))…"
        case .describeUsers: "reading SCRAM users…"
        case .setUserPassword(let u, let m, _, _): "setting the \(m.name) credential of user \(u)…"
        case .deleteUser(let u, let ms): "deleting the \(ms.map(\.name).joined(separator: " and ")) credential\(ms.count == 1 ? "" : "s") of user \(u)…"
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

    /// A whole number typed in a dialog: surrounding spaces are ignored (validators and
    /// `submit` must agree, or a value passes validation and then is not used), anything
    /// else is nil, never a default.
    static func number<T: FixedWidthInteger>(_ v: String?) -> T? {
        v.flatMap { T($0.trimmingCharacters(in: .whitespaces)) }
    }

    static func positiveInt(_ max: Int) -> @Sendable (String) -> String? {
        { v in
            guard let n: Int = Self.number(v) else { return "a whole number" }
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
                let total = ((Self.number(v["count"]) as Int?) ?? 0).multipliedReportingOverflow(by: (Self.number(v["size"]) as Int?) ?? 0)
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
                case .offset: return Self.number(v["value"]).map { (o: Int64) in o < 0 ? "offset must be >= 0" : nil } ?? "offset: a number"
                case .shiftBy: return Self.number(v["value"]).map { (n: Int64) in n == 0 ? "shift-by: not 0" : nil } ?? "shift-by: a whole number, e.g. -100 or 50"
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
            // Never a default: "4 " once passed validation (trimmed) and then failed Int32(),
            // silently creating a 1-partition topic.
            guard let partitions: Int32 = Self.number(v["partitions"]), let rf: Int16 = Self.number(v["rf"]) else {
                say("partitions and replication factor must be whole numbers", .error, now); return []
            }
            let action = ConsoleAction.createTopic(name: v["name"] ?? "", partitions: partitions, replicationFactor: rf, configs: configs)
            if Int(partitions) > Self.partitionConfirmThreshold {
                mode = .confirm("Create \(v["name"] ?? "") with \(Self.grouped(Int(partitions))) partitions (more than \(Self.grouped(Self.partitionConfirmThreshold)))? (y/n)", action)
                return []
            }
            return perform(action, now)
        case .deleteTopic(let t): return perform(.deleteTopic(t), now)
        case .produce(let t, let p):
            guard let count: Int = Self.number(v["count"]), let size: Int = Self.number(v["size"]),
                  let rate = Double((v["rate"] ?? "").trimmingCharacters(in: .whitespaces)) else {
                say("messages, value bytes and rate must be numbers", .error, now); return []
            }
            return perform(.produce(ProduceSpec(topic: t, partition: p, count: count, sizeBytes: size,
                                                keyPattern: v["key"] ?? "", rate: rate)), now)
        case .alterConfig(let t): return perform(.alterTopicConfig(topic: t, key: v["key"] ?? "", value: v["value"] ?? ""), now)
        case .resetOffsets(let g):
            let strategy = ResetStrategy(rawValue: v["strategy"] ?? "") ?? .latest
            let value: Int64? = strategy == .time ? Self.parseTime(v["value"] ?? "", now: now)
                : (strategy == .offset || strategy == .shiftBy ? Self.number(v["value"]) : nil)
            let topic = (v["topic"] ?? "").isEmpty ? nil : v["topic"]
            return perform(.planOffsetReset(OffsetResetRequest(group: g, topic: topic, strategy: strategy, value: value)), now)
        case .seek(let t, let p):
            let raw = v["to"] ?? ""
            guard let start = Self.parseSeek(raw, now: now) else { say("seek: '\(raw)' is not an offset or a time", .error, now); return [] }
            // Pinned: the record sought stays on screen (it was pushed out by newer ones
            // within a second when only the newest 2,000 were kept).
            let effects = openMessages(t, p, start: start, follow: false)
            say(Self.describeSeek(start), .dim, now)
            return effects
        case .addPartitions, .deleteGroup, .produceMessage, .setConfig, .addConfig, .copyMessage, .export:
            return submitOperation(purpose, v, s, now)
        case .setUser: return submitUser(v, now)
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
            messagesVersion += 1
            tailDelivered += batch.count
            if following {
                if messages.count > messageLimit { messages.removeFirst(messages.count - messageLimit) }
                // The view follows the newest record.
                if case .messages = currentPane {
                    stack[stack.count - 1].selectedKey = nil
                    stack[stack.count - 1].table.selected = Int.max / 2
                }
            }
        case .tailError(let id, let text):
            guard id == tail?.id else { return }
            tailError = text
        case .configs(let target, let rows): receiveConfigs(target, rows: rows, error: nil)
        case .configsFailed(let target, let text): receiveConfigs(target, rows: nil, error: text)
        case .rollingRestart(let r): receiveRollingRestart(r, now)
        case .reassignmentStarted(let title, let partitions):
            reassignWatch = ReassignmentWatch(title: title, partitions: Set(partitions), startedAt: now)
        case .acls(let acls): aclData.received(acls, now: now); securityVersion += 1
        case .aclsFailed(let text, let code): aclData.failed(text, code: code, now: now); securityVersion += 1
        case .users(let users): userData.received(users, now: now); securityVersion += 1
        case .usersFailed(let text, let code): userData.failed(text, code: code, now: now); securityVersion += 1
        }
    }

    // MARK: - Rendering

    /// The glyph set of the last rendered canvas (sparklines must match the terminal).
    private var glyphs: Glyphs = .unicode

    func paneTable(_ s: ClusterSnapshot, now: Date) -> PaneTable {
        let kind = currentPane, filter = currentFilter, sort = stack[stack.count - 1].sort
        let extra: Int
        switch kind {
        case .brokers, .topics, .groups: extra = themeIndex
        case .configs: extra = configVersion
        case .acls, .users: extra = securityVersion
        default: extra = messagesVersion
        }
        if let c = cache, c.sequence == s.sequence, c.kind == kind, c.filter == filter, c.extra == extra, c.sort == sort { return c.table }
        let f = TextFilter(filter)
        var table: PaneTable
        switch kind {
        case .brokers: table = Presenters.brokers(s, filter: f, glyphs: glyphs)
        case .topics: table = Presenters.topics(s, filter: f)
        case .groups: table = Presenters.groups(s, filter: f, glyphs: glyphs)
        case .partitions(let t): table = Presenters.partitions(s, topic: t, filter: f, now: now, glyphs: glyphs)
        case .groupPartitions(let g): table = Presenters.groupPartitions(s, group: g, filter: f)
        case .messages(let t, let p):
            let state = following ? "following (f pause)"
                : "paused" + (messages.first.map { " from offset \($0.offset)" } ?? "") + " (f follow)"
            table = Presenters.messages(messages, title: "Messages of \(t)" + (p.map { "-\($0)" } ?? "") + " · " + state, filter: f)
        case .groupMembers(let g): table = Presenters.groupMembers(s, group: g, filter: f)
        case .quorum: table = Presenters.quorum(s, filter: f, now: now)
        case .configs(let target): table = Presenters.configs(configData[target]?.rows, target: target, error: configData[target]?.error, filter: f)
        case .acls: table = Presenters.acls(aclData, filter: f, now: now)
        case .users: table = Presenters.users(userData, filter: f, now: now)
        }
        if let sort { table = TableSort.sorted(table, by: sort, glyphs: glyphs) }
        cache = (s.sequence, kind, filter, extra, sort, table)
        tableGeneration += 1
        return table
    }

    /// Widest cell per column of the current table (cached until the table changes), so
    /// columns are sized to what they hold.
    private func contentWidths(_ table: PaneTable) -> [Int] {
        if let w = widthCache, w.generation == tableGeneration { return w.widths }
        let w = TableView.contentWidths(columns: table.columns, rowCount: table.rowCount, row: table.row)
        widthCache = (tableGeneration, w)
        return w
    }

    /// Sections whose errors and age the current pane shows.
    private var paneSections: [SnapshotSection] {
        switch currentPane {
        case .brokers: [.metadata, .logDirs, .quorum]
        case .topics: [.metadata, .offsets, .configs, .logDirs]
        case .partitions: [.metadata, .offsets, .logDirs]
        case .groups, .groupPartitions: [.groups, .committed, .offsets]
        case .groupMembers: [.groups]
        case .quorum: [.quorum]
        case .messages, .configs, .acls, .users: []
        }
    }

    /// Draws a whole frame.
    public func render(_ s: ClusterSnapshot, into canvas: inout Canvas, now: Date, sampling: Bool = false) {
        canvas.fill(canvas.bounds, role: .text)
        canvas.cursor = nil
        if canvas.glyphs != glyphs { glyphs = canvas.glyphs; cache = nil }
        offerLocalClusterIfUnreachable(s, now)
        guard canvas.width >= 40, canvas.height >= 10 else {
            canvas.write("terminal too small: need 40x10", row: 0, col: 0, role: .error)
            return
        }
        drawHeader(s, &canvas, now: now, sampling: sampling)
        let body = Rect(row: 2, col: 0, width: canvas.width, height: canvas.height - 4)
        let table = paneTable(s, now: now)
        var title = table.title + " [\(table.rowCount)]" + (table.subtitle ?? "")
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
        syncSelection(table)
        if table.rowCount == 0 {
            TableView(columns: table.columns, rowCount: 0, row: table.row).draw(in: &canvas, rect: inner, state: &stack[stack.count - 1].table)
            canvas.write(fitted: table.emptyMessage, row: inner.row + 2, col: inner.col + 2, width: inner.width - 4, role: .dim)
        } else {
            pageHeight = TableView(columns: table.columns, rowCount: table.rowCount, contentWidths: contentWidths(table), row: table.row)
                .draw(in: &canvas, rect: inner, state: &stack[stack.count - 1].table)
            mouseTargets.pageHeight = pageHeight
        }
        // Detail line: a flash message (for 6 s), else the selected row's explanation.
        let detailRow = canvas.height - 2
        if let r = rolling, !r.isFinished, flash.map({ now.timeIntervalSince($0.at) >= 3 || $0.at < rollingChangedAt }) ?? true {
            // A rolling restart's progress stays on the status line while it runs (other
            // messages show for 3 s, then go to the history).
            let text = rollingCancelling ? "cancelling the rolling restart: \(r.status(now: now))" : r.status(now: now) + " · Esc cancels"
            canvas.write(fitted: text, row: detailRow, col: 1, width: canvas.width - 2, role: .warn)
        } else if let f = flash, now.timeIntervalSince(f.at) < 6 {
            let first = f.text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            if first != f.text || TextWidth.width(of: first) > canvas.width - 2 {
                // Cut or multi-line: say where the rest is.
                let more = " ! full text"
                canvas.write(fitted: first, row: detailRow, col: 1, width: canvas.width - 2 - TextWidth.width(of: more), role: f.role)
                canvas.write(more, row: detailRow, col: canvas.width - 1 - TextWidth.width(of: more), role: .dim)
            } else {
                canvas.write(fitted: f.text, row: detailRow, col: 1, width: canvas.width - 2, role: f.role)
            }
        } else if table.rowCount > 0, let d = table.detail(min(selectedRow, table.rowCount - 1)) {
            canvas.write(fitted: d, row: detailRow, col: 1, width: canvas.width - 2, role: .dim)
        }
        drawFooter(&canvas, now: now)
        drawOverlay(&canvas)
    }

    private func drawHeader(_ s: ClusterSnapshot, _ canvas: inout Canvas, now: Date, sampling: Bool) {
        canvas.fill(Rect(row: 0, col: 0, width: canvas.width, height: 1), role: .header)
        let up = s.brokers.filter { $0.status == .up }.count
        let bar = canvas.glyphs.vertical.contains("│") ? "│" : "|"
        // Replication health first (it matters more than the address): URP, under min ISR, offline.
        let h = s.health
        let healthText = s.hasData ? "URP \(h.underReplicated) · <minISR \(h.underMinIsr) · offline \(h.offline)" + (h.reassigning > 0 ? " · moving \(h.reassigning)" : "") : ""
        // Which cluster this is, first: operators with a clusters file juggle several.
        let cluster = clusterName.map { "[\($0)] " } ?? ""
        var left = " samsa console \(bar) " + cluster + (healthText.isEmpty ? "" : healthText + " \(bar) ") + s.bootstrap
        if let id = s.clusterId { left += " \(bar) \(id)" }
        var right = "  brokers \(up)/\(s.brokers.count)  topics \(s.topics.count)  groups \(s.groups.count) "
        if readOnly { right = "  READ-ONLY" + right }
        // The counts and READ-ONLY matter more than the cluster id: at 80 columns in
        // read-only mode "groups N" was cut off and READ-ONLY ran into the id.
        let rw = min(TextWidth.width(of: right), max(canvas.width / 2, canvas.width - 34))
        canvas.write(fitted: left, row: 0, col: 0, width: canvas.width - rw, role: .header)
        if !healthText.isEmpty, h.offline + h.underMinIsr + h.underReplicated > 0 {
            let col = TextWidth.width(of: " samsa console \(bar) " + cluster)
            canvas.write(fitted: healthText, row: 0, col: col, width: max(0, min(TextWidth.width(of: healthText), canvas.width - rw - col)),
                         role: h.offline + h.underMinIsr > 0 ? .error : .warn)
        }
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
        // What is unreachable, since when: longest form that fits.
        var states: [String] = []
        var bad = true
        func since(_ d: Date?) -> [String] {
            guard let d else { return [""] }
            return [" since \(Self.clock.string(from: d)) (\(Duration.compact(now.timeIntervalSince(d))))", " for \(Duration.compact(now.timeIntervalSince(d)))", ""]
        }
        if s.errors[.metadata] != nil {
            states = since(s.failingSince[.metadata]).map { "cluster unreachable" + $0 }
        } else if !s.hasData {
            states = [sampling ? "connecting…" : "no data"]; bad = false
        } else if let b = s.brokers.first(where: { $0.status != .up }) {
            let more = s.brokers.filter { $0.status != .up }.count - 1
            states = since(b.notUpSince).map { "broker \(b.id) \(b.status.rawValue)" + $0 + (more > 0 ? " +\(more)" : "") }
        } else if let sec = [SnapshotSection.offsets, .groups, .committed].first(where: { s.errors[$0] != nil }) {
            states = since(s.failingSince[sec]).map { "\(sec.rawValue) failing" + $0 }
        } else {
            states = ["sampled \(Duration.compact(now.timeIntervalSince(s.takenAt))) ago"]; bad = false
        }
        if let state = states.first(where: { x + TextWidth.width(of: $0) + 1 < canvas.width }) {
            let sw = TextWidth.width(of: state) + 1
            canvas.write(state, row: 1, col: canvas.width - sw, role: bad ? .error : .tab)
        }
    }

    /// Local wall-clock time for "unreachable since 14:02:11".
    static let clock: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f
    }()

    /// Key hints of the current pane (status bar and `?`); mutations are not offered in
    /// read-only mode.
    func paneHints() -> [KeyHelp] {
        let all = allPaneHints()
        guard readOnly else { return all }
        let mutating: Set<String> = ["create", "delete", "produce", "load", "edit config", "reset offsets", "add partitions",
                                     "delete group", "remove override", "add key", "add ACL", "delete ACL", "add user", "change password", "delete user", "elect preferred leader", "elect preferred leaders", "rolling restart", "stop broker", "start broker", "restart broker", "kill -9 broker"]
        return all.filter { !mutating.contains($0.action) }
    }

    private func allPaneHints() -> [KeyHelp] {
        switch currentPane {
        case .brokers:
            return [KeyHelp("e", "configs"), KeyHelp("Q", "quorum")]
                + (brokerControl ? [KeyHelp("x", "stop broker"), KeyHelp("s", "start broker"), KeyHelp("r", "restart broker"), KeyHelp("K", "kill -9 broker"),
                                   KeyHelp("R", "rolling restart")] : [])
        case .topics:
            return [KeyHelp("Enter", "partitions"), KeyHelp("m", "messages"), KeyHelp("e", "configs"), KeyHelp("c", "create"), KeyHelp("d", "delete"),
                    KeyHelp("p", "produce"), KeyHelp("P", "load"), KeyHelp("+", "add partitions"), KeyHelp("L", "elect preferred leaders"), KeyHelp("A", "reassign")]
        case .partitions: return [KeyHelp("Enter", "messages"), KeyHelp("e", "configs"), KeyHelp("p", "produce"), KeyHelp("P", "load"),
                                  KeyHelp("+", "add partitions"), KeyHelp("L", "elect preferred leader"), KeyHelp("A", "reassign")]
        case .groups: return [KeyHelp("Enter", "partitions"), KeyHelp("M", "members"), KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .groupPartitions: return [KeyHelp("Enter", "messages"), KeyHelp("M", "members"), KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .groupMembers: return [KeyHelp("o", "reset offsets"), KeyHelp("d", "delete group")]
        case .messages: return [KeyHelp("Enter", "show message"), KeyHelp("s", "seek"), KeyHelp("f", "follow / pause"), KeyHelp("c", "copy"), KeyHelp("w", "export"),
                                KeyHelp("p", "produce"), KeyHelp("P", "load")]
        case .configs: return [KeyHelp("Enter", "edit config"), KeyHelp("d", "remove override"), KeyHelp("a", "add key"), KeyHelp("r", "reload")]
        case .quorum: return []
        case .acls: return [KeyHelp("a", "add ACL"), KeyHelp("d", "delete ACL"), KeyHelp("r", "reload")]
        case .users: return [KeyHelp("a", "add user"), KeyHelp("Enter", "change password"), KeyHelp("d", "delete user"), KeyHelp("r", "reload")]
        }
    }

    /// What the lag columns and verdicts mean (Burrow's rules, console-anchors.md §3).
    static let lagLegend: [KeyHelp] = [
        KeyHelp("LAG", "messages between the committed offset and the log end"),
        KeyHelp("LAG-S", "seconds since the log end passed the commit (>: at least)"),
        KeyHelp("TREND", "total lag over recent samples: up growing, down draining"),
        KeyHelp("DRAIN", "lag removed per second (negative: growing)"),
        KeyHelp("ETA", "time to zero lag at the current drain rate"),
        KeyHelp("OK", "no lag, or lag reached zero within the commit window"),
        KeyHelp("WARN", "offsets move but lag rose across the whole window"),
        KeyHelp("ERR", "a partition is STOP, STALL, REWIND or BREACH"),
        KeyHelp("STOP", "no new commit for longer than the window, with lag"),
        KeyHelp("STALL", "the same offset committed again and again, with lag"),
        KeyHelp("REWIND", "the committed offset went back and has not recovered"),
        KeyHelp("BREACH", "committed offset below log start: data deleted unread"),
        KeyHelp("COLLECTING", "too few commits seen to judge yet"),
        KeyHelp("grey rows", "data older than the last good sample (unreachable)"),
    ]

    static let globalHints: [KeyHelp] = [
        KeyHelp(":", "command palette"), KeyHelp("/", "filter (regex, !inverse)"), KeyHelp("?", "help"),
        KeyHelp("Esc", "clear filter / back"), KeyHelp("Tab 1 2 3", "brokers, topics, groups"),
        KeyHelp("Up Down j k", "move"), KeyHelp("PgUp PgDn g G", "page, first, last"),
        KeyHelp("< >", "sort by previous / next column"), KeyHelp("-", "reverse the sort"),
        KeyHelp("!", "message history (full errors)"), KeyHelp("C-r", "refresh now"), KeyHelp("T", "cycle theme"), KeyHelp("q C-c", "quit"),
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
            hints += [(":", "cmd"), ("/", "filter")]
            StatusBar(hints: hints, right: readOnly ? "read-only" : "", pinned: [("?", "help"), ("q", "quit")]).draw(in: &canvas, row: row)
        }
    }

    /// The frame of a full-screen preview dialog (offset reset, reassignment); returns its inside.
    static func previewFrame(_ canvas: inout Canvas, title: String) -> Rect {
        let rect = canvas.bounds.centered(width: canvas.width - 4, height: canvas.height - 4)
        canvas.fill(rect, role: .dialog)
        canvas.box(rect, title: title, role: .dialog, titleRole: .dialogTitle)
        return rect.inset(1)
    }

    private func drawOverlay(_ canvas: inout Canvas) {
        switch mode {
        case .help(let scroll):
            var paneKeys = paneHints()
            if readOnly { paneKeys.append(KeyHelp("", "read-only: create, delete, produce, reset, alter are disabled")) }
            var sections = [("This pane", paneKeys), ("Everywhere", Self.globalHints)]
            switch currentPane {
            case .groups, .groupPartitions: sections.insert(("Columns and verdicts", Self.lagLegend), at: 1)
            default: sections.append(("Columns and verdicts (Groups)", Self.lagLegend))
            }
            mode = .help(HelpOverlay(title: "Keys: \(currentPane.title)", sections: sections).draw(in: &canvas, scroll: scroll))
        case .form(let form, _): form.draw(in: &canvas)
        case .confirm(let text, _):
            // Wrapped, not cut: a question that names consequences must show all of them.
            let width = min(canvas.width - 4, TextWidth.width(of: text) + 6)
            let lines = DetailView.wrapped([text], width: max(1, width - 4))
            let rect = canvas.bounds.centered(width: width, height: min(max(3, canvas.height - 2), lines.count + 2))
            canvas.fill(rect, role: .dialog)
            canvas.box(rect, title: "Confirm", role: .dialog, titleRole: .dialogTitle)
            for (i, line) in lines.prefix(max(1, rect.height - 2)).enumerated() {
                canvas.write(fitted: line, row: rect.row + 1 + i, col: rect.col + 2, width: rect.width - 4, role: .dialog)
            }
        case .preview(let plan, var state):
            let inner = Self.previewFrame(&canvas, title: "Preview: reset \(plan.request.group) to \(plan.request.targetDescription)")
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
        case .reassignPreview(let plan, var state):
            let inner = Self.previewFrame(&canvas, title: "Preview: reassign \(plan.title)")
            var top = inner.row
            var notes = plan.warnings
            if plan.unchanged > 0 { notes.append("\(Format.plural(plan.unchanged, "partition")) already placed so: left alone") }
            for w in notes where top < inner.bottom - 2 {
                canvas.write(fitted: w, row: top, col: inner.col + 1, width: inner.width - 2, role: .warn)
                top += 1
            }
            let rows = plan.rows
            TableView(columns: [TableColumn("TOPIC", width: 12, flex: 1), TableColumn("P", width: 4, alignRight: true),
                                TableColumn("LEADER", width: 6, alignRight: true), TableColumn("CURRENT", width: 10, flex: 1),
                                TableColumn("TARGET", width: 10, flex: 1), TableColumn("ADD", width: 6), TableColumn("REMOVE", width: 6)],
                      rowCount: rows.count, showsSelection: false) { i in
                let r = rows[i]
                return TableRow([r.partition.topic, "\(r.partition.partition)", r.leader < 0 ? "none" : "\(r.leader)",
                                 Format.ids(r.current), Format.ids(r.target),
                                 r.adding.isEmpty ? "-" : Format.ids(r.adding), r.removing.isEmpty ? "-" : Format.ids(r.removing)])
            }.draw(in: &canvas, rect: Rect(row: top, col: inner.col + 1, width: inner.width - 2, height: max(0, inner.height - (top - inner.row) - 1)), state: &state)
            mode = .reassignPreview(plan, state)
            canvas.write(fitted: "Enter execute (AlterPartitionReassignments)  Esc cancel  ·  the first replica is the preferred leader",
                         row: inner.bottom - 1, col: inner.col + 1, width: inner.width - 2, role: .dialogTitle)
        case .detail(var view):
            view.draw(in: &canvas)
            mode = .detail(view)
        default: break
        }
    }
}
