import Dispatch

/// Runs the log manager's periodic background work (flush, retention, compaction, checkpoints).
/// Injected so tests drive time by hand with ``ManualLogScheduler``. Implementations are
/// thread-safe, and never run one task concurrently with itself.
public protocol LogScheduler: Sendable {
    /// Runs `task` after `initialDelayMs`, then every `periodMs`.
    func schedule(name: String, initialDelayMs: Int64, periodMs: Int64, _ task: @escaping @Sendable () -> Void)
    /// Cancels every task and waits for running ones to finish.
    func shutdown()
}

/// The real scheduler: one Dispatch timer on its own serial queue per task, so a slow task
/// (a long compaction) delays only its own next run. Thread-safe.
public final class DispatchLogScheduler: LogScheduler, @unchecked Sendable {
    private let lock = StorageLock()
    private var timers: [(source: any DispatchSourceTimer, queue: DispatchQueue)] = []
    private var isShutdown = false

    public init() {}

    public func schedule(name: String, initialDelayMs: Int64, periodMs: Int64, _ task: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "samsa.log.\(name)")
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now() + .milliseconds(Int(clamping: initialDelayMs)),
                        repeating: .milliseconds(Int(clamping: max(1, periodMs))))
        source.setEventHandler(handler: task)
        let started: Bool = lock.withLock {
            guard !isShutdown else { return false }
            timers.append((source, queue))
            return true
        }
        if started { source.resume() }
    }

    public func shutdown() {
        let all: [(source: any DispatchSourceTimer, queue: DispatchQueue)] = lock.withLock {
            isShutdown = true
            defer { timers = [] }
            return timers
        }
        for timer in all {
            timer.source.cancel()
            timer.queue.sync {}   // wait for a run in progress
        }
    }
}

/// A scheduler for tests: tasks run only from ``runDue()``, on the caller's thread, when the
/// injected clock says they are due. Thread-safe.
public final class ManualLogScheduler: LogScheduler, @unchecked Sendable {
    private struct Task {
        var name: String
        var nextMs: Int64
        var periodMs: Int64
        var body: @Sendable () -> Void
    }

    private let lock = StorageLock()
    private let clock: any LogClock
    private var tasks: [Task] = []
    private var isShutdown = false

    public init(clock: any LogClock) { self.clock = clock }

    public func schedule(name: String, initialDelayMs: Int64, periodMs: Int64, _ task: @escaping @Sendable () -> Void) {
        let now = clock.milliseconds()
        lock.withLock {
            if !isShutdown { tasks.append(Task(name: name, nextMs: now + initialDelayMs, periodMs: max(1, periodMs), body: task)) }
        }
    }

    /// Names of the scheduled tasks.
    public var taskNames: [String] { lock.withLock { tasks.map(\.name) } }

    /// Runs every task whose time has come (each at most once per call). Returns their names.
    @discardableResult
    public func runDue() -> [String] {
        let now = clock.milliseconds()
        let due: [Task] = lock.withLock {
            var result: [Task] = []
            for i in tasks.indices where tasks[i].nextMs <= now {
                result.append(tasks[i])
                while tasks[i].nextMs <= now { tasks[i].nextMs += tasks[i].periodMs }
            }
            return result
        }
        for task in due { task.body() }
        return due.map(\.name)
    }

    public func shutdown() { lock.withLock { isShutdown = true; tasks = [] } }
}
